package auth

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestValidateNew_RefusesTooShortAndTooLong(t *testing.T) {
	tests := []struct {
		name     string
		password string
		want     error
	}{
		{"seven characters", "1234567", ErrPasswordTooShort},
		{"eight characters", "12345678", nil},
		{"eight multibyte characters", strings.Repeat("é", 8), nil},
		{"72 bytes", strings.Repeat("a", 72), nil},
		{"73 bytes", strings.Repeat("a", 73), ErrPasswordTooLong},
		{"37 two-byte characters is 74 bytes", strings.Repeat("é", 37), ErrPasswordTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidateNew(tt.password); !errors.Is(got, tt.want) {
				t.Errorf("ValidateNew(%d bytes) = %v, want %v", len(tt.password), got, tt.want)
			}
		})
	}
}

func TestHasher_ChecksWithoutTruncating(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	p72 := strings.Repeat("a", 72)
	hash, err := h.Hash(p72)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := bcrypt.Cost(hash); got != bcrypt.MinCost {
		t.Errorf("cost = %d, want %d", got, bcrypt.MinCost)
	}
	if ok, err := h.Check(hash, p72); !ok || err != nil {
		t.Errorf("Check(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, _ := h.Check(hash, strings.Repeat("a", 71)+"b"); ok {
		t.Error("Check(wrong password) = true")
	}
	// bcrypt alone would accept this: the first 72 bytes match.
	if ok, err := h.Check(hash, p72+"x"); ok || !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Check(73 bytes sharing the first 72) = %v, %v; want false, ErrPasswordTooLong", ok, err)
	}
	if _, err := h.Hash(p72 + "x"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(73 bytes) error = %v, want ErrPasswordTooLong", err)
	}
}

func TestHasher_UnknownUserNeverMatches(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "session-lab dummy password", "anything"} {
		if ok, err := h.Check(nil, p); ok || err != nil {
			t.Errorf("Check(nil hash, %q) = %v, %v; want false, nil", p, ok, err)
		}
	}
}

func TestNewHasher_RefusesCostOutOfRange(t *testing.T) {
	for _, cost := range []int{bcrypt.MinCost - 1, bcrypt.MaxCost + 1} {
		if _, err := NewHasher(cost); err == nil {
			t.Errorf("NewHasher(%d) = nil error", cost)
		}
	}
}

// ASVS 6.3.8 after a cost change: users hashed at an older, cheaper cost
// answer a wrong password in the time an unknown email takes (checked
// against the dummy at the configured cost), until their hash is upgraded.
// Medians of interleaved runs, within 10%.
func TestHasher_OldCostChecksTakeAsLongAsUnknownEmails(t *testing.T) {
	const oldCost, newCost, runs = 7, 9, 9
	old, err := NewHasher(oldCost)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := old.Hash("the right password")
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHasher(newCost)
	if err != nil {
		t.Fatal(err)
	}
	h.Check(hash, "warm-up: the padding hashes are made once")
	// Each run times the two back to back, in alternating order, and keeps
	// their ratio: a change of load on the machine (other test packages run
	// at the same time) slows both of a pair alike, and the median of the
	// ratios ignores the runs it hit in between.
	var unknown, known []time.Duration
	var ratios []float64
	for i := range runs {
		var du, dk time.Duration
		if i%2 == 0 {
			start := time.Now()
			h.Check(nil, "a wrong password")
			mid := time.Now()
			h.Check(hash, "a wrong password")
			du, dk = mid.Sub(start), time.Since(mid)
		} else {
			start := time.Now()
			h.Check(hash, "a wrong password")
			mid := time.Now()
			h.Check(nil, "a wrong password")
			dk, du = mid.Sub(start), time.Since(mid)
		}
		unknown, known = append(unknown, du), append(known, dk)
		ratios = append(ratios, float64(dk)/float64(du))
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	t.Logf("unknown email %v, known account at cost %d %v (medians): median ratio %.2f", medianOf(unknown), oldCost, medianOf(known), ratio)
	if ratio < 0.9 || ratio > 1.1 {
		t.Errorf("a known account hashed at cost %d takes %.2f× an unknown email at cost %d, want within 10%%", oldCost, ratio, newCost)
	}
}

func medianOf(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
