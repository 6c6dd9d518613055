package auth

import (
	"context"
	"errors"
	"time"
)

// ErrBusy is returned when no password-hashing slot came free in time.
var ErrBusy = errors.New("auth: every password hashing slot is busy")

// HashSlots bounds how many bcrypt operations run at once.
//
// SECURITY(dos): bcrypt is deliberately slow, so a burst of logins could
// otherwise take every CPU and queue without bound, starving every other
// page. With N slots (default: one per CPU) at most N hashes run at once; a
// request that cannot get a slot within a short wait gives up with ErrBusy
// (the server answers 503 with Retry-After) instead of queueing. Pages that
// only read the session never take a slot, so signed-in users keep being
// served during a login flood — ASVS 5.0 2.4.1 (anti-automation),
// https://cheatsheetseries.owasp.org/cheatsheets/Denial_of_Service_Cheat_Sheet.html
type HashSlots struct {
	slots chan struct{}
	wait  time.Duration
}

// NewHashSlots returns n slots (at least 1); Acquire waits at most wait.
func NewHashSlots(n int, wait time.Duration) *HashSlots {
	return &HashSlots{slots: make(chan struct{}, max(n, 1)), wait: wait}
}

// MaxWait is how long Acquire waits for a slot.
func (s *HashSlots) MaxWait() time.Duration { return s.wait }

// Acquire takes a slot, waiting at most MaxWait, or until ctx ends (then
// it returns ctx's error). The caller must call release exactly once.
func (s *HashSlots) Acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	timer := time.NewTimer(s.wait)
	defer timer.Stop()
	select {
	case s.slots <- struct{}{}:
		return release, nil
	case <-timer.C:
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Do runs fn holding a slot; it returns ErrBusy or ctx's error, without
// running fn, when no slot came free in time.
func (s *HashSlots) Do(ctx context.Context, fn func()) error {
	release, err := s.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	fn()
	return nil
}
