package auth

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestHashSlots_RefuseWhenAllAreTaken(t *testing.T) {
	s := NewHashSlots(2, 10*time.Millisecond)
	ctx := context.Background()
	r1, err := s.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := s.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Acquire(ctx); !errors.Is(err, ErrBusy) {
		t.Fatalf("third Acquire with two slots taken: %v, want ErrBusy", err)
	}
	ran := false
	if err := s.Do(ctx, func() { ran = true }); !errors.Is(err, ErrBusy) || ran {
		t.Fatalf("Do with every slot taken: err %v, ran %v; want ErrBusy and not run", err, ran)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := NewHashSlots(1, time.Hour).acquireTaken(t).Acquire(cancelled); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with a cancelled context: %v, want context.Canceled", err)
	}

	r1()
	if err := s.Do(ctx, func() { ran = true }); err != nil || !ran {
		t.Fatalf("Do after a release: err %v, ran %v; want it run", err, ran)
	}
	r2()
}

// acquireTaken returns s with every slot taken (released at the end of the test).
func (s *HashSlots) acquireTaken(t *testing.T) *HashSlots {
	for range cap(s.slots) {
		release, err := s.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(release)
	}
	return s
}

func TestHasher_NeedsRehashOnlyBelowItsCost(t *testing.T) {
	low, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost)
	high, _ := bcrypt.GenerateFromPassword([]byte("password"), bcrypt.MinCost+2)
	h, err := NewHasher(bcrypt.MinCost + 1)
	if err != nil {
		t.Fatal(err)
	}
	if !h.NeedsRehash(low) {
		t.Error("a hash below the cost: NeedsRehash = false")
	}
	if h.NeedsRehash(high) {
		t.Error("a hash above the cost: NeedsRehash = true (would lower it)")
	}
	if h.NeedsRehash([]byte("not a hash")) {
		t.Error("garbage: NeedsRehash = true")
	}
}
