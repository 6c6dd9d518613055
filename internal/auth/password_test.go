package auth

import (
	"context"
	"errors"
	"strings"
	"testing"

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
	hash, err := h.Hash(t.Context(), p72)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := bcrypt.Cost(hash); got != bcrypt.MinCost {
		t.Errorf("cost = %d, want %d", got, bcrypt.MinCost)
	}
	if ok, err := h.Check(t.Context(), hash, p72); !ok || err != nil {
		t.Errorf("Check(right password) = %v, %v; want true, nil", ok, err)
	}
	if ok, _ := h.Check(t.Context(), hash, strings.Repeat("a", 71)+"b"); ok {
		t.Error("Check(wrong password) = true")
	}
	// bcrypt alone would accept this: the first 72 bytes match.
	if ok, err := h.Check(t.Context(), hash, p72+"x"); ok || !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Check(73 bytes sharing the first 72) = %v, %v; want false, ErrPasswordTooLong", ok, err)
	}
	if _, err := h.Hash(t.Context(), p72+"x"); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash(73 bytes) error = %v, want ErrPasswordTooLong", err)
	}
}

func TestHasher_UnknownUserNeverMatches(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"", "session-lab dummy password", "anything"} {
		if ok, err := h.Check(t.Context(), nil, p); ok || err != nil {
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
// answer a wrong password with the work an unknown email takes (checked
// against the dummy at the configured cost), until their hash is upgraded.
// bcrypt's work is 2^cost key expansions per comparison, so the test adds
// up 2^cost over every comparison a check makes — the same figure for
// both, exactly, whatever else the machine is doing.
func TestHasher_OldCostChecksTakeAsLongAsUnknownEmails(t *testing.T) {
	const newCost = 7
	h, err := NewHasher(newCost)
	if err != nil {
		t.Fatal(err)
	}
	var work int
	h.compare = func(_ context.Context, hash, password []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Fatalf("compared against something that is not a bcrypt hash: %v", err)
		}
		work += 1 << c
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	checkWork := func(hash []byte) int {
		work = 0
		if ok, err := h.Check(t.Context(), hash, "a wrong password"); ok || err != nil {
			t.Fatalf("Check with a wrong password: %v, %v", ok, err)
		}
		return work
	}
	unknown := checkWork(nil)
	if unknown != 1<<newCost {
		t.Fatalf("an unknown email costs %d expansions, want 2^%d", unknown, newCost)
	}
	for oldCost := bcrypt.MinCost; oldCost <= newCost+1; oldCost++ {
		hash, err := bcrypt.GenerateFromPassword([]byte("the right password"), oldCost)
		if err != nil {
			t.Fatal(err)
		}
		want := unknown
		if oldCost > newCost {
			want = 1 << oldCost // a dearer hash is never made cheaper
		}
		if got := checkWork(hash); got != want {
			t.Errorf("an account hashed at cost %d costs %d expansions, an unknown email %d: want %d", oldCost, got, unknown, want)
		}
	}
}
