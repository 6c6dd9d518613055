package auth

import (
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
