package auth

import (
	"context"
	"errors"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when no password-hashing slot came free in time, or
// when so many requests already wait for one that another would only queue.
var ErrBusy = errors.New("auth: every password hashing slot is busy")

// HashSlots bounds how many bcrypt operations run at once (default half
// the CPUs), refuses at once a request that would not get a slot within
// MaxWait instead of letting it queue for nothing, and runs each hash on
// an OS thread of its own, with GOMAXPROCS one higher per hash running,
// so that the Go scheduler keeps its full number of Ps for every other
// request (and, with LowPriority, at a lower priority too).
//
// SECURITY(dos): a login flood gets 503s, never every CPU, so signed-in
// pages stay fast — ASVS 5.0 15.2.2.
type HashSlots struct {
	slots   chan struct{}
	queue   int          // requests allowed to wait for a slot at most
	waiting atomic.Int32 // requests waiting now
	wait    time.Duration
	nice    int          // 0: the thread's priority is left alone; 1–19: its niceness
	took    atomic.Int64 // moving average of one operation's wall time, in ns (0: none yet)

	starvedUntil atomic.Int64 // unix ns: no lower priority before then (checkStarved)

	// onWait, when set (tests only), is called once a request is counted
	// as waiting, before it blocks.
	onWait func()
}

// errWorkExited is what Do panics with when the work ended its goroutine
// (runtime.Goexit) instead of returning.
var errWorkExited = errors.New("auth: the hashing work exited without returning")

// Option configures HashSlots.
type Option func(*HashSlots)

// Queue lets at most q requests wait for a slot; a request beyond them
// gets ErrBusy at once. Without it the queue is as long as the slots can
// serve within MaxWait (see Acquire).
func Queue(q int) Option { return func(s *HashSlots) { s.queue = max(q, 0) } }

// LowPriority lowers the priority of the thread a hash runs on by nice
// steps of niceness (1–19, capped at 19; 0 leaves it alone), where the
// system supports it (Linux): while other requests wait for a slot, and
// unless a recent hash was starved by it (see lowerNow). Off by default:
// a lowered thread still holds a Go P, and every stop-the-world pause (a
// garbage collection's) waits for it, so while other processes load the
// CPU it can stall the whole process until checkStarved turns it off.
func LowPriority(nice int) Option { return func(s *HashSlots) { s.nice = min(max(nice, 0), 19) } }

// NewHashSlots returns n slots (at least 1); Acquire waits at most wait.
func NewHashSlots(n int, wait time.Duration, opts ...Option) *HashSlots {
	n = max(n, 1)
	s := &HashSlots{slots: make(chan struct{}, n), queue: math.MaxInt32, wait: wait}
	for _, o := range opts {
		o(s)
	}
	return s
}

// MaxWait is how long Acquire waits for a slot.
func (s *HashSlots) MaxWait() time.Duration { return s.wait }

// Acquire takes a slot, waiting at most MaxWait, or until ctx ends (then
// it returns ctx's error). It returns ErrBusy at once, without waiting,
// when the request would not get a slot within MaxWait anyway: when the
// requests already waiting, served at the average time an operation has
// taken so far, would keep every slot busy past MaxWait (or when the
// Queue option's bound is reached). The caller must call release exactly
// once.
func (s *HashSlots) Acquire(ctx context.Context) (release func(), err error) {
	release = func() { <-s.slots }
	select {
	case s.slots <- struct{}{}:
		return release, nil
	default:
	}
	if s.tooLong(int(s.waiting.Add(1))) {
		s.waiting.Add(-1)
		return nil, ErrBusy
	}
	defer s.waiting.Add(-1)
	if s.onWait != nil {
		s.onWait()
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

// Refuses reports whether a request arriving now would be refused at once
// by Acquire: every slot taken and the queue as long as the slots can
// serve within MaxWait. It reserves nothing; a handler uses it to turn a
// flood away before any other work (Acquire still decides).
func (s *HashSlots) Refuses() bool {
	if len(s.slots) < cap(s.slots) {
		return false
	}
	return s.tooLong(int(s.waiting.Load()) + 1)
}

// tooLong reports whether the request at position in the queue would wait
// past MaxWait (or past the Queue option's bound).
func (s *HashSlots) tooLong(position int) bool {
	took := time.Duration(s.took.Load())
	return position > s.queue || time.Duration(position)*took/time.Duration(cap(s.slots)) > s.wait
}

// Do runs fn holding a slot, on an OS thread of its own (at a lower
// priority with LowPriority); it returns ErrBusy or ctx's error, without
// running fn, when no slot came free in time.
func (s *HashSlots) Do(ctx context.Context, fn func()) error {
	release, err := s.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	defer s.observe(time.Now())
	extraProcs.start()
	defer extraProcs.done()
	done := make(chan any, 1)
	go func() {
		// p stays errWorkExited unless fn returns or panics: fn called
		// runtime.Goexit, and the caller must not take that for a result.
		var p any = errWorkExited
		defer func() { done <- p }()
		defer func() {
			if r := recover(); r != nil {
				p = r
			}
		}()
		// The thread stays locked to this goroutine, which ends without
		// unlocking it: the runtime then ends the thread too (or, if it is
		// the main thread, parks it for good), so its lowered priority
		// never carries over to other goroutines. Threads the runtime needs
		// meanwhile are not cloned from a locked one (they would inherit
		// its priority) but made by its template thread.
		runtime.LockOSThread()
		if !s.lowerNow() {
			fn()
			p = nil
			return
		}
		setThreadNice(s.nice)
		start, cpu := time.Now(), threadCPUTime()
		fn()
		p = nil
		s.checkStarved(time.Since(start), threadCPUTime()-cpu)
	}()
	if p := <-done; p != nil {
		panic(p)
	}
	return nil
}

// lowerNow reports whether the hash about to run takes the lower priority:
// only with LowPriority, only while other requests wait for a slot (a
// login flood: without one there is nothing to protect the pages from),
// and not within starvedFor of a hash the lower priority starved.
func (s *HashSlots) lowerNow() bool {
	return s.nice > 0 && lowPrioritySupported && s.waiting.Load() > 0 &&
		time.Now().UnixNano() >= s.starvedUntil.Load()
}

// checkStarved turns the lower priority off for starvedFor after a hash
// that waited for the CPU more than twice as long as it ran (wall time
// over three times its CPU time, and by more than starvedSlack): other
// processes want the CPU too, and a lower priority would let them starve
// every login.
func (s *HashSlots) checkStarved(wall, cpu time.Duration) {
	if wall > 3*cpu && wall-cpu > starvedSlack {
		s.starvedUntil.Store(time.Now().Add(starvedFor).UnixNano())
	}
}

const (
	starvedFor   = time.Minute
	starvedSlack = 50 * time.Millisecond
)

// observe adds the operation that started at start to the moving average
// (weight 1/8) that Acquire uses to tell how long the queue takes.
func (s *HashSlots) observe(start time.Time) {
	d := int64(time.Since(start))
	for {
		old := s.took.Load()
		next := d
		if old != 0 {
			next = old + (d-old)/8
		}
		if s.took.CompareAndSwap(old, next) {
			return
		}
	}
}

// extraProcs raises GOMAXPROCS by one for each hash running at once (at
// most doubling it), and lowers it again once no hash has run for
// procsIdle. A hash's thread holds a P for the whole hash, and without the
// extra P the scheduler would have one P fewer for every other goroutine.
// Raised only while hashes run: more Ps than CPUs all the time cost
// throughput (measured: 0.78× instead of 1.04× stock scs at 32
// connections on one CPU); lowered only after a pause, since each change
// stops the world. Setting GOMAXPROCS turns off the runtime's own updates
// of it (a container's CPU limit changed while the process runs is then
// not followed until a restart).
var extraProcs procs

const procsIdle = time.Second

type procs struct {
	mu     sync.Mutex
	base   int // GOMAXPROCS before it was raised
	active int // hashes running
	raised int // Ps added now
}

func (p *procs) start() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.raised == 0 {
		p.base = runtime.GOMAXPROCS(0)
	}
	p.active++
	if want := min(p.active, p.base); want > p.raised {
		p.raised = want
		runtime.GOMAXPROCS(p.base + p.raised)
	}
}

func (p *procs) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
	if p.active == 0 {
		time.AfterFunc(procsIdle, p.lowerIfIdle)
	}
}

// lowerIfIdle gives GOMAXPROCS back once no hash runs (a hash that started
// since keeps it raised; its own done schedules the next check).
func (p *procs) lowerIfIdle() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active == 0 && p.raised > 0 {
		runtime.GOMAXPROCS(p.base)
		p.raised = 0
	}
}
