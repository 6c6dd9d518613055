package auth

import (
	"sync"
	"time"

	"github.com/go-chi/httprate"
)

// Limit allows at most Max events per key in any sliding Window. It counts
// with httprate's sliding-window counter (the Cloudflare algorithm httprate
// implements): the count in the current fixed window, plus the previous
// window's count weighted by how much of it the sliding window still
// covers. Windows are aligned to the wall clock, so every replica sharing a
// counter agrees on them.
//
// Unlike httprate's middleware, a Limit separates asking from counting
// (Wait, then Add), so the login handler can count failures only: a correct
// password does not use up the budget, but is still refused while the
// budget is spent.
type Limit struct {
	max     int
	window  time.Duration
	counter httprate.LimitCounter
	now     func() time.Time
	// mu makes Reserve's read-then-increment atomic for a counter that
	// cannot do it itself (one process's memory).
	mu sync.Mutex
}

// AtomicCounter is a LimitCounter that can check and take one unit in a
// single step, for counters shared between processes (redisdb.LimitCounter,
// a Redis script): a lock in one process cannot order another's requests.
type AtomicCounter interface {
	httprate.LimitCounter
	// TryIncrement adds one to key's count in the window starting at
	// current only if, before it, prev×(window−elapsed)/window + curr ≤
	// max−1. It returns whether it did, and the counts it saw.
	TryIncrement(key string, current, previous time.Time, elapsed, window time.Duration, max int) (ok bool, curr, prev int, err error)
}

// NewLimit returns a Limit of max events per window, counted in counter
// (httprate.NewLocalLimitCounter for one process, a shared counter such as
// redisdb.LimitCounter for many). A nil counter counts in memory.
func NewLimit(max int, window time.Duration, counter httprate.LimitCounter) *Limit {
	if counter == nil {
		counter = httprate.NewLocalLimitCounter(window)
	}
	counter.Config(max, window)
	return &Limit{max: max, window: window, counter: counter, now: time.Now}
}

// Wait reports how long key must wait before one more event is allowed:
// zero when it is allowed now. The answer assumes no further events, so it
// is what Retry-After should say.
func (l *Limit) Wait(key string) (time.Duration, error) {
	now := l.now().UTC()
	current := now.Truncate(l.window)
	curr, prev, err := l.counter.Get(key, current, current.Add(-l.window))
	if err != nil {
		return 0, err
	}
	return l.wait(now.Sub(current), curr, prev), nil
}

// Reserve takes one unit of key's budget now if the budget allows it,
// atomically with the check, and returns a release that gives it back.
// When the budget is spent it takes nothing and returns the wait.
//
// SECURITY(throttling): the unit is taken before the work it limits (a
// bcrypt check), so no more than the limit of a concurrent burst get
// through; "check, work, then count" would pass them all — ASVS 5.0 6.3.1.
func (l *Limit) Reserve(key string) (release func() error, wait time.Duration, err error) {
	now := l.now().UTC()
	current := now.Truncate(l.window)
	previous := current.Add(-l.window)
	elapsed := now.Sub(current)
	var ok bool
	var curr, prev int
	if ac, atomic := l.counter.(AtomicCounter); atomic {
		ok, curr, prev, err = ac.TryIncrement(key, current, previous, elapsed, l.window, l.max)
	} else {
		l.mu.Lock()
		curr, prev, err = l.counter.Get(key, current, previous)
		if err == nil && l.wait(elapsed, curr, prev) == 0 {
			ok, err = true, l.counter.Increment(key, current)
		}
		l.mu.Unlock()
	}
	if err != nil {
		return nil, 0, err
	}
	if !ok {
		return nil, l.wait(elapsed, curr, prev), nil
	}
	return func() error { return l.counter.IncrementBy(key, current, -1) }, 0, nil
}

// Add counts one event for key.
func (l *Limit) Add(key string) error {
	return l.counter.Increment(key, l.now().UTC().Truncate(l.window))
}

// wait solves the sliding-window estimate for the first moment it lets one
// more event in: prev×(W−t)/W + curr ≤ max−1, where t is the time into the
// current window (elapsed now). Integer nanoseconds, rounded up, so the
// answer is never early.
func (l *Limit) wait(elapsed time.Duration, curr, prev int) time.Duration {
	w := int64(l.window)
	room := int64(l.max - 1) // the estimate may be at most this before one more event
	c, p, t := int64(curr), int64(prev), int64(elapsed)
	if p*(w-t) <= (room-c)*w {
		return 0
	}
	if c <= room {
		// Within this window, once enough of the previous one has slid out:
		// t' = W×(prev − room + curr)/prev.
		return time.Duration(ceilDiv(w*(p-room+c), p) - t)
	}
	// The current window alone is over: wait for it to become the previous
	// one and slide out far enough: W − t, then W×(curr − room)/curr.
	return time.Duration(w - t + ceilDiv(w*(c-room), c))
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
