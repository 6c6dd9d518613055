package auth

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// WorkerCommand is the argument that makes the program a bcrypt worker
// (ServeWorker) instead of the web server.
const WorkerCommand = "bcrypt-worker"

// ErrHashWorker is returned when a worker process could not be started,
// died during an operation and again on the retry, did not answer before
// the operation's deadline, or answered out of step. That worker is ended
// and the next operation starts a fresh one; the request gets a 503.
var ErrHashWorker = errors.New("auth: the bcrypt worker process failed")

// Workers run bcrypt in helper processes of the program's own binary, one
// operation at a time each, at a lower CPU priority (Nice). A hash running
// in the web server holds one of the Go scheduler's Ps for its whole
// 250 ms, and a lowered thread holding a P stalls every stop-the-world
// pause; in a process of its own it holds nothing of the server's: the
// request waits on a pipe, and the kernel gives the pages the CPU first.
// When other work keeps the CPUs so busy that a worker does not answer in
// time, workers run at the server's priority for StarvedFor, so that
// logins go on being served, more slowly.
//
// SECURITY(dos): a login flood costs the signed-in pages as little CPU
// as the kernel can arrange — ASVS 5.0 15.2.2.
type Workers struct {
	command func() *exec.Cmd
	nice    int
	maxTime time.Duration

	idle chan *worker // a nil entry: a worker not started (yet, or again)

	mu      sync.Mutex
	running map[*worker]bool // started and not yet exited
	closed  bool

	// starvedFor is how long workers run at the server's priority after
	// one did not answer in time; starvedUntil (unix ns) is when that ends.
	starvedFor   time.Duration
	starvedUntil atomic.Int64
}

// WorkerOptions configure Workers.
type WorkerOptions struct {
	// Nice is how much less priority the workers get than the server:
	// added to its niceness, capped at 19 (Linux; 0 leaves it alone).
	Nice int
	// MaxTime bounds one operation when its context has no earlier
	// deadline: a worker that has not answered by then is ended (0: 30 s).
	MaxTime time.Duration
	// StarvedFor is how long workers run at the server's priority, not
	// Nice steps below it, after one did not answer in time (0: a minute).
	StarvedFor time.Duration
}

// NewWorkers returns n workers (at least 1), each started by command on
// first use. The requests reach it on file descriptor 3 and its replies
// come back on 4 (ExtraFiles), so that nothing it prints on its standard
// output can be taken for an answer; its standard output is discarded and
// its standard error is the server's. Its environment, unless command sets
// one, is GOMAXPROCS=1 alone. command is usually SelfCommand.
func NewWorkers(n int, command func() *exec.Cmd, opts WorkerOptions) *Workers {
	n = max(n, 1)
	w := &Workers{command: command, nice: min(max(opts.Nice, 0), 19), maxTime: opts.MaxTime,
		idle: make(chan *worker, n), running: map[*worker]bool{}}
	if w.maxTime <= 0 {
		w.maxTime = 30 * time.Second
	}
	w.starvedFor = opts.StarvedFor
	if w.starvedFor <= 0 {
		w.starvedFor = time.Minute
	}
	for range n {
		w.idle <- nil
	}
	return w
}

// SelfCommand starts the running binary again as a worker. On Linux it
// is /proc/self/exe, the very file this process runs even if the path it
// was started from has been replaced since (a rebuild, an upgrade in
// place), so server and workers are always one version.
func SelfCommand() (func() *exec.Cmd, error) {
	exe := "/proc/self/exe"
	if _, err := os.Stat(exe); err != nil {
		if exe, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("bcrypt workers: find this program: %w", err)
		}
	}
	name := os.Args[0] // what ps shows: "sessionlab bcrypt-worker", not /proc/self/exe
	return func() *exec.Cmd {
		cmd := exec.Command(exe, WorkerCommand)
		cmd.Args[0] = name
		return cmd
	}, nil
}

// Compare is bcrypt.CompareHashAndPassword, in a worker, within ctx.
func (w *Workers) Compare(ctx context.Context, hash, password []byte) error {
	status, payload, err := w.do(ctx, opCompare, 0, hash, password)
	switch {
	case err != nil:
		return err
	case status == statusOK:
		return nil
	case status == statusMismatch:
		return bcrypt.ErrMismatchedHashAndPassword
	}
	return errors.New(string(payload))
}

// Generate is bcrypt.GenerateFromPassword, in a worker, within ctx.
func (w *Workers) Generate(ctx context.Context, password []byte, cost int) ([]byte, error) {
	status, payload, err := w.do(ctx, opGenerate, cost, nil, password)
	switch {
	case err != nil:
		return nil, err
	case status == statusOK:
		return payload, nil
	}
	return nil, errors.New(string(payload))
}

// Close ends every worker, all at once: each exits once its requests
// pipe closes, and is killed if it has not within a second. Operations
// after Close fail with ErrHashWorker; one in flight gets its answer or
// ErrHashWorker.
func (w *Workers) Close() error {
	w.mu.Lock()
	w.closed = true
	running := make([]*worker, 0, len(w.running))
	for wk := range w.running {
		running = append(running, wk)
	}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for _, wk := range running {
		wg.Go(func() { wk.end(time.Second) })
	}
	wg.Wait()
	return nil
}

// niceNow is the steps below the server a worker started now runs at:
// Nice, or 0 during a starved spell.
func (w *Workers) niceNow() int {
	if time.Now().UnixNano() < w.starvedUntil.Load() {
		return 0
	}
	return w.nice
}

// PIDs lists the worker processes running now (for tests).
func (w *Workers) PIDs() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pids []int
	for wk := range w.running {
		pids = append(pids, wk.cmd.Process.Pid)
	}
	return pids
}

// do runs one operation in an idle worker, within ctx's deadline or
// maxTime, whichever comes first. A worker that fails before that (it
// died, its pipe broke) is replaced and the operation tried once more in
// the new one, which is safe: comparing or hashing again changes nothing.
// Every other failure ends the worker and fails the operation.
func (w *Workers) do(ctx context.Context, op byte, cost int, hash, password []byte) (status byte, payload []byte, err error) {
	if len(hash) > maxField || len(password) > maxField {
		return 0, nil, errors.New("bcrypt: input too long") // the caller's mistake: no worker is at fault
	}
	deadline := time.Now().Add(w.maxTime)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	var wk *worker
	select {
	case wk = <-w.idle:
	case <-ctx.Done():
		return 0, nil, ctx.Err()
	}
	defer func() { w.idle <- wk }() // nil again if it failed
	if wk != nil && wk.nice != w.niceNow() {
		// Started before or during a starved spell: replaced by one at
		// the priority of now. It exits once its pipe closes.
		go wk.end(time.Second)
		wk = nil
	}
	for try := 0; ; try++ {
		if wk == nil {
			if wk, err = w.start(); err != nil {
				return 0, nil, err
			}
		}
		status, payload, err = wk.call(ctx, op, cost, hash, password, deadline)
		if err == nil {
			return status, payload, nil
		}
		wk.end(0)
		wk = nil
		if errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(ctx.Err(), context.Canceled) && w.nice > 0 {
			// Not answered in time: hung, or starved by other work at
			// its lower priority. Until starvedFor has passed, workers
			// run at the server's priority: logins slower than pages
			// is the aim, logins that never finish is not.
			w.starvedUntil.Store(time.Now().Add(w.starvedFor).UnixNano())
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return 0, nil, fmt.Errorf("%w: %w", ErrHashWorker, ctxErr)
		}
		if try > 0 || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, errOutOfStep) {
			return 0, nil, fmt.Errorf("%w: %w", ErrHashWorker, err)
		}
	}
}

// start starts one worker, at the lower priority: the process is forked
// from a thread of this one whose niceness was raised first, so every
// thread of the worker inherits it from its very start. That thread runs
// nothing but the fork (cmd.Start) and is then ended (its goroutine exits
// locked to it), so the lowered priority never runs the server's code.
func (w *Workers) start() (*worker, error) {
	nice := w.niceNow()
	cmd := w.command()
	if cmd.Env == nil {
		// SECURITY(deployment): a worker gets none of the server's
		// environment (database and Redis credentials), only what it
		// needs — ASVS 5.0 15.2.3.
		cmd.Env = []string{"GOMAXPROCS=1"} // one operation at a time
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, os.Stderr
	// Its own process group: the terminal's Ctrl-C (SIGINT to the
	// foreground group) is the server's to handle; the server ends its
	// workers when it stops.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHashWorker, err)
	}
	repR, repW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, fmt.Errorf("%w: %v", ErrHashWorker, err)
	}
	cmd.ExtraFiles = []*os.File{reqR, repW} // fds 3 and 4 in the worker
	started := make(chan error, 1)
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		for _, f := range []*os.File{reqR, reqW, repR, repW} {
			f.Close()
		}
		return nil, fmt.Errorf("%w: closed", ErrHashWorker)
	}
	// Under the lock, so that Close either sees this worker or stops it
	// being started.
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		setThreadNice(nice)
		started <- cmd.Start()
	}()
	err = <-started
	reqR.Close() // the worker's ends: its copies are all that remain
	repW.Close()
	if err != nil {
		w.mu.Unlock()
		reqW.Close()
		repR.Close()
		return nil, fmt.Errorf("%w: start: %v", ErrHashWorker, err)
	}
	wk := &worker{cmd: cmd, nice: nice, in: reqW, out: repR, r: bufio.NewReader(repR), exited: make(chan struct{})}
	w.running[wk] = true
	w.mu.Unlock()
	go func() {
		// Reaped as soon as it exits, even while idle: no zombie waits for
		// the next operation to notice.
		cmd.Wait()
		w.mu.Lock()
		delete(w.running, wk)
		w.mu.Unlock()
		close(wk.exited)
	}()
	return wk, nil
}

// worker is one running worker process.
type worker struct {
	cmd    *exec.Cmd
	nice   int      // the steps below the server it was started at
	in     *os.File // requests (its fd 3)
	out    *os.File // replies (its fd 4), for the read deadline
	r      *bufio.Reader
	seq    uint32        // of the request in flight: random, so no stray frame can match it
	exited chan struct{} // closed once the process has exited and been reaped
	once   sync.Once
}

var errOutOfStep = errors.New("reply out of step with its request")

// call sends one request and reads its reply, before deadline (or until
// ctx ends). A reply must carry the request's sequence number, a random
// one, and be all that was sent; anything else is out of step, and is
// never taken for an answer (a "match" read for the wrong request would
// let a wrong password in).
func (wk *worker) call(ctx context.Context, op byte, cost int, hash, password []byte, deadline time.Time) (byte, []byte, error) {
	wk.seq = rand.Uint32()
	if err := wk.in.SetWriteDeadline(deadline); err != nil {
		return 0, nil, err
	}
	if err := writeFrame(wk.in, op, byte(cost), wk.seq, hash, password); err != nil {
		return 0, nil, err
	}
	if err := wk.out.SetReadDeadline(deadline); err != nil {
		return 0, nil, err
	}
	stop := context.AfterFunc(ctx, func() { wk.out.SetReadDeadline(time.Now()) })
	defer stop()
	status, _, seq, payload, _, err := readFrame(wk.r)
	switch {
	case err != nil:
		return 0, nil, err
	case seq != wk.seq || wk.r.Buffered() != 0:
		return 0, nil, errOutOfStep
	case status != statusOK && status != statusMismatch && status != statusError:
		return 0, nil, errOutOfStep
	}
	return status, payload, nil
}

// end closes the worker's requests pipe, gives it grace to exit, then
// kills it, and waits until it has been reaped.
func (wk *worker) end(grace time.Duration) {
	wk.once.Do(func() {
		wk.in.Close()
		select {
		case <-wk.exited:
		case <-time.After(grace):
			wk.cmd.Process.Kill()
			<-wk.exited
		}
		wk.out.Close()
	})
}

// The protocol: a request is a frame of op, cost, a sequence number,
// hash, password; a reply is a frame of status, 0, the request's sequence
// number, payload (a hash, or an error's text), empty. A frame is two
// bytes, a 32-bit sequence number, then two fields each preceded by its
// length as a 16-bit number, at most maxField bytes; all big-endian.
const (
	opCompare  byte = 'C'
	opGenerate byte = 'G'

	statusOK       byte = 0
	statusMismatch byte = 1
	statusError    byte = 2

	maxField = 1024
)

func writeFrame(w io.Writer, a, b byte, seq uint32, f1, f2 []byte) error {
	if len(f1) > maxField || len(f2) > maxField {
		return errors.New("field too long")
	}
	buf := make([]byte, 0, 10+len(f1)+len(f2))
	buf = append(buf, a, b)
	buf = binary.BigEndian.AppendUint32(buf, seq)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(f1)))
	buf = append(buf, f1...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(f2)))
	buf = append(buf, f2...)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) (a, b byte, seq uint32, f1, f2 []byte, err error) {
	var head [6]byte
	if _, err = io.ReadFull(r, head[:]); err != nil {
		return 0, 0, 0, nil, nil, err
	}
	if f1, err = readField(r); err != nil {
		return 0, 0, 0, nil, nil, err
	}
	if f2, err = readField(r); err != nil {
		return 0, 0, 0, nil, nil, err
	}
	return head[0], head[1], binary.BigEndian.Uint32(head[2:]), f1, f2, nil
}

func readField(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	size := int(binary.BigEndian.Uint16(n[:]))
	if size > maxField {
		return nil, fmt.Errorf("field of %d bytes", size)
	}
	f := make([]byte, size)
	_, err := io.ReadFull(r, f)
	return f, err
}

// ServeWorker is a worker process's whole life: it answers requests from
// r on w until r ends, which it does when the server closes it or dies.
// The program calls it with the files NewWorkers passes (WorkerFiles).
func ServeWorker(r io.Reader, w io.Writer) error {
	in, out := bufio.NewReader(r), bufio.NewWriter(w)
	for {
		op, cost, seq, hash, password, err := readFrame(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bcrypt worker: read: %w", err)
		}
		status, payload := serve(op, int(cost), hash, password)
		if err := writeFrame(out, status, 0, seq, payload, nil); err != nil {
			return fmt.Errorf("bcrypt worker: write: %w", err)
		}
		if err := out.Flush(); err != nil {
			return fmt.Errorf("bcrypt worker: write: %w", err)
		}
	}
}

// WorkerFiles are the requests and replies pipes a worker was started
// with (file descriptors 3 and 4), for ServeWorker.
func WorkerFiles() (requests io.Reader, replies io.Writer) {
	return os.NewFile(3, "bcrypt requests"), os.NewFile(4, "bcrypt replies")
}

func serve(op byte, cost int, hash, password []byte) (status byte, payload []byte) {
	switch op {
	case opCompare:
		err := bcrypt.CompareHashAndPassword(hash, password)
		switch {
		case err == nil:
			return statusOK, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return statusMismatch, nil
		default:
			return statusError, []byte(err.Error())
		}
	case opGenerate:
		h, err := bcrypt.GenerateFromPassword(password, cost)
		if err != nil {
			return statusError, []byte(err.Error())
		}
		return statusOK, h
	}
	return statusError, fmt.Appendf(nil, "unknown operation %q", op)
}
