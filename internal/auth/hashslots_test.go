package auth

import (
	"context"
	"errors"
	"runtime"
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

// TestHashSlots_ExcessRequestsAreRefusedAtOnce: with every slot taken and
// the queue full, one more request is refused at once, not after MaxWait
// (an hour here: waiting for it would end the test on its own deadline).
func TestHashSlots_ExcessRequestsAreRefusedAtOnce(t *testing.T) {
	s := NewHashSlots(1, time.Hour, Queue(1))
	waiting := make(chan struct{})
	s.onWait = func() { close(waiting) }
	s.acquireTaken(t)

	queued := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		release, err := s.Acquire(ctx)
		if err == nil {
			release()
		}
		queued <- err
	}()
	<-waiting // the queue is full now
	s.onWait = nil

	soon, cancelSoon := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelSoon()
	if _, err := s.Acquire(soon); !errors.Is(err, ErrBusy) {
		t.Fatalf("Acquire with every slot taken and the queue full: %v, want ErrBusy at once", err)
	}
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Fatalf("the queued request: %v, want context.Canceled", err)
	}
}

// TestHashSlots_RefusedAtOnceWhenTheQueueCannotDrainInTime: operations
// have taken 30 minutes each and a request waits at most an hour, so with
// the one slot taken two requests may wait (the second would get the slot
// after exactly an hour) and a third is refused at once instead of
// waiting an hour for nothing.
func TestHashSlots_RefusedAtOnceWhenTheQueueCannotDrainInTime(t *testing.T) {
	s := NewHashSlots(1, time.Hour)
	s.took.Store(int64(30 * time.Minute))
	waiting := make(chan struct{}, 2)
	s.onWait = func() { waiting <- struct{}{} }
	s.acquireTaken(t)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	queued := make(chan error, 2)
	for range 2 {
		go func() {
			_, err := s.Acquire(ctx)
			queued <- err
		}()
		<-waiting
	}

	soon, cancelSoon := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelSoon()
	if _, err := s.Acquire(soon); !errors.Is(err, ErrBusy) {
		t.Fatalf("a third waiter behind two 30-minute operations with an hour's wait: %v, want ErrBusy at once", err)
	}
	cancel()
	for range 2 {
		if err := <-queued; !errors.Is(err, context.Canceled) {
			t.Fatalf("a queued request: %v, want it to have waited (context.Canceled)", err)
		}
	}
}

// TestHashSlots_TheAverageFollowsWhatOperationsTake: Do records how long
// the work took, which is what the queue's admission uses.
func TestHashSlots_TheAverageFollowsWhatOperationsTake(t *testing.T) {
	s := NewHashSlots(1, time.Second)
	if err := s.Do(context.Background(), func() { time.Sleep(20 * time.Millisecond) }); err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(s.took.Load()); got < 20*time.Millisecond {
		t.Fatalf("average after one 20 ms operation = %v, want at least 20 ms", got)
	}
}

// TestHashSlots_RefusesTellsWhatAcquireWouldDo: Refuses is false while a
// slot is free or the queue can be served in time, true once Acquire
// would refuse at once, and it reserves nothing.
func TestHashSlots_RefusesTellsWhatAcquireWouldDo(t *testing.T) {
	s := NewHashSlots(1, time.Hour, Queue(0))
	if s.Refuses() {
		t.Fatal("Refuses with a free slot")
	}
	release, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Refuses() {
		t.Fatal("Refuses = false with the slot taken and no queue")
	}
	release()
	if s.Refuses() {
		t.Fatal("Refuses after the release")
	}
	if err := s.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("Do after Refuses: %v (Refuses reserved something)", err)
	}
}

// TestHashSlots_WorkThatExitsIsNoResult: work that ends its goroutine
// (runtime.Goexit) instead of returning makes Do panic, so a caller never
// takes the zero values it left for a hash; the slot is free afterwards.
func TestHashSlots_WorkThatExitsIsNoResult(t *testing.T) {
	s := NewHashSlots(1, time.Second)
	func() {
		defer func() {
			if p := recover(); p != errWorkExited {
				t.Errorf("recovered %v, want errWorkExited", p)
			}
		}()
		_ = s.Do(context.Background(), func() { runtime.Goexit() })
		t.Error("Do returned after work that called runtime.Goexit")
	}()
	if err := s.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("the slot afterwards: %v", err)
	}
}
