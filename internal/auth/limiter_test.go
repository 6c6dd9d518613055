package auth

import (
	"testing"
	"time"
)

// clock is a settable time for Limit.now.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestLimit(max int, window time.Duration, c *clock) *Limit {
	l := NewLimit(max, window, nil)
	l.now = c.now
	return l
}

func TestLimit_AllowsMaxThenWaitsUntilTheWindowSlides(t *testing.T) {
	const window = time.Minute
	c := &clock{time.Date(2030, 1, 1, 12, 0, 10, 0, time.UTC)} // 10 s into a window
	l := newTestLimit(3, window, c)

	for i := range 3 {
		if wait, err := l.Wait("k"); err != nil || wait != 0 {
			t.Fatalf("event %d: Wait = %v, %v; want 0 (allowed)", i+1, wait, err)
		}
		l.Add("k")
	}
	wait, err := l.Wait("k")
	if err != nil || wait <= 0 {
		t.Fatalf("after 3 events: Wait = %v, %v; want a positive wait", wait, err)
	}
	if other, _ := l.Wait("other"); other != 0 {
		t.Errorf("another key: Wait = %v, want 0 (keys are independent)", other)
	}
	// 3 events in this window: the estimate drops to 2 once a third of the
	// next window has passed: 50 s left here + 20 s.
	if want := 70 * time.Second; wait != want {
		t.Errorf("Wait = %v, want %v", wait, want)
	}
	c.advance(wait - time.Second)
	if w, _ := l.Wait("k"); w <= 0 {
		t.Errorf("a second before the wait is over: allowed already")
	}
	c.advance(time.Second)
	if w, _ := l.Wait("k"); w != 0 {
		t.Errorf("after the announced wait: Wait = %v, want 0", w)
	}
	c.advance(window)
	if w, _ := l.Wait("k"); w != 0 {
		t.Errorf("two windows later: Wait = %v, want 0", w)
	}
}

func TestLimit_PreviousWindowStillCountsWhileItSlidesOut(t *testing.T) {
	const window = time.Minute
	c := &clock{time.Date(2030, 1, 1, 12, 0, 50, 0, time.UTC)}
	l := newTestLimit(4, window, c)
	for range 4 {
		l.Add("k")
	}
	c.advance(15 * time.Second) // 5 s into the next window
	// Estimate 4×55/60 ≈ 3.67 > 3: still refused, for 4×(60−t)/60 ≤ 3 → t ≥ 15 s.
	wait, _ := l.Wait("k")
	if want := 10 * time.Second; wait != want {
		t.Errorf("Wait = %v, want %v", wait, want)
	}
	c.advance(wait)
	if w, _ := l.Wait("k"); w != 0 {
		t.Errorf("after the wait: Wait = %v, want 0", w)
	}
}
