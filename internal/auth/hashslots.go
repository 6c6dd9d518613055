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
// the CPUs), and refuses at once a request that would not get a slot
// within MaxWait instead of letting it queue for nothing. Where the hash
// itself runs is the Hasher's business: in a worker process (Workers; the
// slot then only bounds them), or, without workers, on an OS thread of
// its own with GOMAXPROCS one higher per hash running, so that the Go
// scheduler keeps its full number of Ps for every other request.
//
// SECURITY(dos): a login flood gets 503s, never every CPU, so signed-in
// pages stay fast — ASVS 5.0 15.2.2.
type HashSlots struct {
	slots     chan struct{}
	queue     int          // requests allowed to wait for a slot at most
	waiting   atomic.Int32 // requests waiting now
	wait      time.Duration
	inWorkers bool         // the work only waits for a worker process: run it on the caller's goroutine
	took      atomic.Int64 // moving average of one operation's wall time, in ns (0: none yet)

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

// InWorkerProcesses says the work Do runs only waits for a worker process
// (Workers): it runs on the caller's goroutine, which parks on the pipe
// without holding a P, so no thread of its own or extra P is needed.
func InWorkerProcesses() Option { return func(s *HashSlots) { s.inWorkers = true } }

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

// Do runs fn holding a slot, on an OS thread of its own (on the caller's
// goroutine with InWorkerProcesses); it returns ErrBusy or ctx's error,
// without running fn, when no slot came free in time.
func (s *HashSlots) Do(ctx context.Context, fn func()) error {
	release, err := s.Acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	defer s.observe(time.Now())
	if s.inWorkers {
		fn()
		return nil
	}
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
		// A thread for the hash alone: the goroutine ends locked to it,
		// so the runtime ends the thread too (or, if it is the main
		// thread, parks it for good).
		runtime.LockOSThread()
		fn()
		p = nil
	}()
	if p := <-done; p != nil {
		panic(p)
	}
	return nil
}

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
