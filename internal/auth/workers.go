package auth

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// WorkerCommand is the argument that makes the program a bcrypt worker
// (ServeWorker) instead of the web server.
const WorkerCommand = "bcrypt-worker"

// ErrHashWorker is returned when a worker process died, hung past
// MaxTime or answered nonsense. The worker is ended and the next operation
// starts a fresh one; the request in flight gets a 503.
var ErrHashWorker = errors.New("auth: the bcrypt worker process failed")

// Workers run bcrypt in helper processes of the program's own binary, one
// operation at a time each, at a lower CPU priority (Nice). A hash running
// in the web server holds one of the Go scheduler's Ps for its whole
// 250 ms, and a lowered thread holding a P stalls every stop-the-world
// pause; in a process of its own it holds nothing of the server's: the
// request waits on a pipe, and the kernel gives the pages the CPU first.
//
// SECURITY(dos): a login flood costs the signed-in pages as little CPU
// as the kernel can arrange — ASVS 5.0 15.2.2.
type Workers struct {
	command func() *exec.Cmd
	nice    int
	maxTime time.Duration

	idle chan *worker // a nil entry: a worker not started (yet, or again)

	mu      sync.Mutex
	running map[*worker]bool // started and not yet ended, to end on Close
	closed  bool
}

// WorkerOptions configure Workers.
type WorkerOptions struct {
	// Nice is how much less priority the workers get than the server:
	// added to its niceness, capped at 19 (Linux; 0 leaves it alone).
	Nice int
	// MaxTime bounds one operation: a worker that has not answered by then
	// is ended (0: 30 s).
	MaxTime time.Duration
}

// NewWorkers returns n workers (at least 1), each started by command on
// first use (its standard input and output are the requests and replies;
// nothing else of it is touched). command is usually SelfCommand.
func NewWorkers(n int, command func() *exec.Cmd, opts WorkerOptions) *Workers {
	n = max(n, 1)
	w := &Workers{command: command, nice: min(max(opts.Nice, 0), 19), maxTime: opts.MaxTime,
		idle: make(chan *worker, n), running: map[*worker]bool{}}
	if w.maxTime <= 0 {
		w.maxTime = 30 * time.Second
	}
	for range n {
		w.idle <- nil
	}
	return w
}

// SelfCommand starts the running binary again as a worker.
func SelfCommand() (func() *exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bcrypt workers: find this program: %w", err)
	}
	return func() *exec.Cmd { return exec.Command(exe, WorkerCommand) }, nil
}

// Compare is bcrypt.CompareHashAndPassword, in a worker.
func (w *Workers) Compare(hash, password []byte) error {
	status, payload, err := w.do(opCompare, 0, hash, password)
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

// Generate is bcrypt.GenerateFromPassword, in a worker.
func (w *Workers) Generate(password []byte, cost int) ([]byte, error) {
	status, payload, err := w.do(opGenerate, cost, nil, password)
	switch {
	case err != nil:
		return nil, err
	case status == statusOK:
		return payload, nil
	}
	return nil, errors.New(string(payload))
}

// Close ends every worker: each exits once its input closes, and is killed
// if it has not within a second. Operations after Close fail.
func (w *Workers) Close() error {
	w.mu.Lock()
	w.closed = true
	running := make([]*worker, 0, len(w.running))
	for wk := range w.running {
		running = append(running, wk)
	}
	w.mu.Unlock()
	for _, wk := range running {
		wk.end(time.Second)
		w.forget(wk)
	}
	return nil
}

// PIDs lists the worker processes running now (for tests and the
// start-up line's evidence).
func (w *Workers) PIDs() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var pids []int
	for wk := range w.running {
		pids = append(pids, wk.cmd.Process.Pid)
	}
	return pids
}

// do runs one operation in an idle worker. A worker that fails before its
// answer is due (it died, its pipe broke) is replaced and the operation
// tried once more in the new one, which is safe: comparing or hashing
// again changes nothing. One that does not answer within maxTime is ended
// and the operation fails.
func (w *Workers) do(op byte, cost int, hash, password []byte) (status byte, payload []byte, err error) {
	wk := <-w.idle
	defer func() { w.idle <- wk }() // nil again if it failed
	for try := 0; ; try++ {
		if wk == nil {
			if wk, err = w.start(); err != nil {
				return 0, nil, err
			}
		}
		status, payload, err = wk.call(op, cost, hash, password, w.maxTime)
		if err == nil {
			return status, payload, nil
		}
		w.forget(wk)
		wk.end(0)
		wk = nil
		if try > 0 || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil, fmt.Errorf("%w: %v", ErrHashWorker, err)
		}
	}
}

func (w *Workers) forget(wk *worker) {
	w.mu.Lock()
	delete(w.running, wk)
	w.mu.Unlock()
}

// start starts one worker, at the lower priority: the process is forked
// from a thread of this one whose niceness was raised first, so every
// thread of the worker inherits it from its very start. That thread is
// ended afterwards (its goroutine exits locked to it), so the lowered
// priority never runs any of the server's own code.
func (w *Workers) start() (*worker, error) {
	w.mu.Lock()
	closed := w.closed
	w.mu.Unlock()
	if closed {
		return nil, fmt.Errorf("%w: closed", ErrHashWorker)
	}
	cmd := w.command()
	if cmd.Env == nil {
		// SECURITY(deployment): a worker gets none of the server's
		// environment (database and Redis credentials), only what it
		// needs — ASVS 5.0 15.2.3.
		cmd.Env = []string{"GOMAXPROCS=1"} // one operation at a time
	}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHashWorker, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrHashWorker, err)
	}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		setThreadNice(w.nice)
		started <- cmd.Start()
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("%w: start: %v", ErrHashWorker, err)
	}
	wk := &worker{cmd: cmd, in: stdin, out: stdout.(*os.File), r: bufio.NewReader(stdout)}
	w.mu.Lock()
	w.running[wk] = true
	w.mu.Unlock()
	return wk, nil
}

// worker is one running worker process.
type worker struct {
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *os.File // for its read deadline
	r    *bufio.Reader
	once sync.Once
}

// call sends one request and reads its reply, within maxTime.
func (wk *worker) call(op byte, cost int, hash, password []byte, maxTime time.Duration) (byte, []byte, error) {
	if err := writeFrame(wk.in, op, byte(cost), hash, password); err != nil {
		return 0, nil, err
	}
	if err := wk.out.SetReadDeadline(time.Now().Add(maxTime)); err != nil {
		return 0, nil, err
	}
	status, _, payload, _, err := readFrame(wk.r)
	return status, payload, err
}

// end closes the worker's input, gives it grace to exit, then kills it,
// and waits for it.
func (wk *worker) end(grace time.Duration) {
	wk.once.Do(func() {
		wk.in.Close()
		done := make(chan struct{})
		go func() {
			wk.cmd.Wait()
			close(done)
		}()
		select {
		case <-done:
			return
		case <-time.After(grace):
		}
		wk.cmd.Process.Kill()
		<-done
	})
}

// The protocol: a request is a frame of op, cost, hash, password; a reply
// is a frame of status, 0, payload (a hash, or an error's text), empty.
// A frame is two bytes, then two fields each preceded by its length as a
// 16-bit big-endian number, at most maxField bytes.
const (
	opCompare  byte = 'C'
	opGenerate byte = 'G'

	statusOK       byte = 0
	statusMismatch byte = 1
	statusError    byte = 2

	maxField = 1024
)

func writeFrame(w io.Writer, a, b byte, f1, f2 []byte) error {
	if len(f1) > maxField || len(f2) > maxField {
		return errors.New("field too long")
	}
	buf := make([]byte, 0, 6+len(f1)+len(f2))
	buf = append(buf, a, b)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(f1)))
	buf = append(buf, f1...)
	buf = binary.BigEndian.AppendUint16(buf, uint16(len(f2)))
	buf = append(buf, f2...)
	_, err := w.Write(buf)
	return err
}

func readFrame(r io.Reader) (a, b byte, f1, f2 []byte, err error) {
	var head [2]byte
	if _, err = io.ReadFull(r, head[:]); err != nil {
		return 0, 0, nil, nil, err
	}
	if f1, err = readField(r); err != nil {
		return 0, 0, nil, nil, err
	}
	if f2, err = readField(r); err != nil {
		return 0, 0, nil, nil, err
	}
	return head[0], head[1], f1, f2, nil
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
// r on w until r ends. It ignores the terminal's signals, so that Ctrl-C
// on `make run` leaves it to the server, which ends it on shutdown; it
// also ends when the server dies, since its input closes then.
func ServeWorker(r io.Reader, w io.Writer) error {
	ignoreStopSignals()
	in, out := bufio.NewReader(r), bufio.NewWriter(w)
	for {
		op, cost, hash, password, err := readFrame(in)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("bcrypt worker: read: %w", err)
		}
		status, payload := serve(op, int(cost), hash, password)
		if err := writeFrame(out, status, 0, payload, nil); err != nil {
			return fmt.Errorf("bcrypt worker: write: %w", err)
		}
		if err := out.Flush(); err != nil {
			return fmt.Errorf("bcrypt worker: write: %w", err)
		}
	}
}

func ignoreStopSignals() { signal.Ignore(os.Interrupt, syscall.SIGTERM) }

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
