package auth

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// newWorkers starts n workers of this test binary, ended with the test.
func newWorkers(t *testing.T, n int, opts WorkerOptions) *Workers {
	t.Helper()
	command, err := SelfCommand()
	if err != nil {
		t.Fatal(err)
	}
	w := NewWorkers(n, command, opts)
	t.Cleanup(func() { w.Close() })
	return w
}

// onePID is the one worker process running.
func onePID(t *testing.T, w *Workers) int {
	t.Helper()
	pids := w.PIDs()
	if len(pids) != 1 {
		t.Fatalf("worker processes %v, want one", pids)
	}
	return pids[0]
}

// gone reports whether no process pid exists any more (it was reaped).
func gone(pid int) bool { return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) }

// waitGone waits up to 5 s for pid to be reaped.
func waitGone(t *testing.T, pid int, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !gone(pid); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s %d still exists (state %q)", what, pid, processState(pid))
		}
	}
}

// processState is the state letter in /proc/pid/stat ("" if gone).
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	return strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[0]
}

// niceOf reads the niceness in a /proc stat file (field 19: the 17th
// after the command name, which is in parentheses); an error if the
// thread has gone meanwhile.
func niceOf(stat string) (int, error) {
	b, err := os.ReadFile(stat)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))[16])
}

func TestWorkers_HashAndCheckInAProcessOfTheirOwn(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkers(t, 1, WorkerOptions{})
	h.UseWorkers(w)
	hash, err := h.Hash(t.Context(), "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	// A real bcrypt hash at the Hasher's cost, checkable anywhere.
	if err := bcrypt.CompareHashAndPassword(hash, []byte("correct horse battery")); err != nil {
		t.Fatalf("the worker's hash does not check in this process: %v", err)
	}
	if c, _ := bcrypt.Cost(hash); c != bcrypt.MinCost {
		t.Errorf("cost %d, want %d", c, bcrypt.MinCost)
	}
	for _, c := range []struct {
		hash     []byte
		password string
		want     bool
	}{
		{hash, "correct horse battery", true},
		{hash, "correct horse battery!", false},
		{nil, "correct horse battery", false}, // no such user: the dummy
	} {
		if ok, err := h.Check(t.Context(), c.hash, c.password); ok != c.want || err != nil {
			t.Errorf("Check(%q) = %v, %v; want %v", c.password, ok, err, c.want)
		}
	}
	if _, err := h.Check(t.Context(), []byte("not a hash"), "x"); err == nil || errors.Is(err, ErrHashWorker) {
		t.Errorf("a malformed hash: %v, want bcrypt's own error, not a worker failure", err)
	}
	pid := onePID(t, w)
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatal(err)
	}
	if pid == os.Getpid() || !strings.Contains(string(cmdline), WorkerCommand) {
		t.Errorf("worker pid %d (this process %d), command line %q: want a %s process of its own", pid, os.Getpid(), cmdline, WorkerCommand)
	}
}

// Every thread of a worker runs at the server's niceness plus Nice, from
// its start; no thread of the server that runs Go code keeps it (the
// thread that forked is ended, which the kernel does a moment later).
func TestWorkers_EveryThreadOfAWorkerRunsAtTheLowerPriority(t *testing.T) {
	base := baseNice(t)
	want := min(base+7, 19)
	w := newWorkers(t, 1, WorkerOptions{Nice: 7})
	if _, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	pid := onePID(t, w)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	for _, task := range tasks {
		if got, err := niceOf(fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())); err != nil || got != want {
			t.Errorf("worker thread %s at nice %d (%v), want %d", task.Name(), got, err, want)
		}
	}
	lowered := func() []string {
		var out []string
		self, _ := os.ReadDir("/proc/self/task")
		for _, task := range self {
			if task.Name() == strconv.Itoa(os.Getpid()) {
				continue // the main thread: if the fork ran there, the runtime parked it for good
			}
			if got, err := niceOf("/proc/self/task/" + task.Name() + "/stat"); err == nil && got != base {
				out = append(out, fmt.Sprintf("%s at nice %d", task.Name(), got))
			}
		}
		return out
	}
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		l := lowered()
		if len(l) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server threads still lowered 5 s after the fork: %v (want every one at %d)", l, base)
		}
	}
}

// A worker that died between operations is replaced, and the operation
// that found it dead still gets its answer; the dead one is reaped at
// once, not when its slot is next used.
func TestWorkers_ADeadWorkerIsReplacedWithoutFailingTheOperation(t *testing.T) {
	w := newWorkers(t, 1, WorkerOptions{})
	hash, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	first := onePID(t, w)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, first, "the killed worker, idle,")
	// Reaped first, then forgotten: PIDs() follows a moment later.
	for deadline := time.Now().Add(5 * time.Second); len(w.PIDs()) != 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("PIDs() = %v 5 s after the only worker died, want none", w.PIDs())
		}
	}
	if err := w.Compare(t.Context(), hash, []byte("a password")); err != nil {
		t.Fatalf("compare after the worker died: %v, want it done by a new one", err)
	}
	if second := onePID(t, w); second == first {
		t.Errorf("still worker %d, want a new one", first)
	}
}

// A worker that hangs (SIGSTOP) is ended when the operation's time is up,
// MaxTime or the context's deadline, whichever comes first: the operation
// fails with ErrHashWorker, never waits longer, and the next one runs in a
// fresh worker.
func TestWorkers_AHungWorkerIsEndedWhenTheOperationsTimeIsUp(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxTime  time.Duration
		deadline time.Duration // of the context; 0: none
		want     time.Duration
	}{
		{"MaxTime", 300 * time.Millisecond, 0, 300 * time.Millisecond},
		{"the request's deadline first", time.Minute, 300 * time.Millisecond, 300 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorkers(t, 1, WorkerOptions{MaxTime: c.maxTime})
			hash, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost)
			if err != nil {
				t.Fatal(err)
			}
			hung := onePID(t, w)
			if err := syscall.Kill(hung, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			ctx := t.Context()
			if c.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, c.deadline)
				defer cancel()
			}
			start := time.Now()
			err = w.Compare(ctx, hash, []byte("a password"))
			took := time.Since(start)
			if !errors.Is(err, ErrHashWorker) {
				t.Fatalf("compare on a hung worker: %v, want ErrHashWorker", err)
			}
			if took < c.want || took > c.want+time.Second {
				t.Errorf("answered after %v, want %v (+ < 1 s)", took, c.want)
			}
			waitGone(t, hung, "the hung worker")
			if err := w.Compare(t.Context(), hash, []byte("a password")); err != nil {
				t.Fatalf("compare after the hung worker was ended: %v", err)
			}
		})
	}
}

// A reply that does not answer the request it follows (a stray frame
// before it, a wrong sequence number, an unknown status) is never taken
// for an answer: the operation fails with ErrHashWorker and the worker is
// ended. A wrong password accepted because replies shifted by one would
// be a login bypass.
func TestWorkers_AReplyOutOfStepIsNeverTakenForAnAnswer(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	var okFrame, badStatus bytes.Buffer
	writeFrame(&okFrame, statusOK, 0, 1, nil, nil)      // "it matches", for request 1
	writeFrame(&badStatus, 'Z', 0, 1, []byte("?"), nil) // a status that does not exist
	for _, c := range []struct{ name, before string }{
		{"a stray reply before the real one", okFrame.String()},
		{"an unknown status", badStatus.String()},
	} {
		t.Run(c.name, func(t *testing.T) {
			// The worker writes c.before on its replies pipe, then serves
			// as usual, so the first reply read is the stray one.
			w := NewWorkers(1, func() *exec.Cmd {
				cmd := exec.Command(os.Args[0], "-test.run=^TestWorkerHelper_WritesFirst$")
				cmd.Env = []string{"SESSIONLAB_TEST_WORKER_FIRST=" + hex.EncodeToString([]byte(c.before))}
				return cmd
			}, WorkerOptions{MaxTime: 5 * time.Second})
			t.Cleanup(func() { w.Close() })
			err := w.Compare(t.Context(), hash, []byte("wrong"))
			if !errors.Is(err, ErrHashWorker) {
				t.Fatalf("compare of a wrong password with a reply out of step: %v, want ErrHashWorker (and never nil: a match)", err)
			}
			if !errors.Is(err, errOutOfStep) {
				t.Errorf("failed with %v, want it for the reply out of step", err)
			}
			if pids := w.PIDs(); len(pids) != 0 {
				t.Errorf("the worker out of step still runs: %v", pids)
			}
		})
	}
}

// TestWorkerHelper_WritesFirst is no test: it is the worker the test above
// starts (it does nothing unless started so).
func TestWorkerHelper_WritesFirst(t *testing.T) {
	first, ok := os.LookupEnv("SESSIONLAB_TEST_WORKER_FIRST")
	if !ok {
		return
	}
	stray, _ := hex.DecodeString(first)
	in, out := WorkerFiles()
	out.Write(stray)
	ServeWorker(in, out)
	os.Exit(0)
}

// Close ends every worker, at once; nothing runs in them after it, and a
// worker being started while Close runs is either ended by it or never
// started.
func TestWorkers_CloseEndsEveryWorkerEvenOneStartingMeanwhile(t *testing.T) {
	w := newWorkers(t, 2, WorkerOptions{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	pids := w.PIDs()
	if len(pids) == 0 {
		t.Fatal("no worker ran")
	}
	start := time.Now()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	// A worker built with -race waits a second at exit (GORACE's
	// atexit_sleep_ms, not in its environment), so each may take its
	// whole second of grace: one after the other that is 2 s or more.
	if took := time.Since(start); took >= 1900*time.Millisecond {
		t.Errorf("Close took %v, want the workers ended side by side (under 1.9 s)", took)
	}
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker %d still exists after Close", pid)
		}
	}
	if _, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost); !errors.Is(err, ErrHashWorker) {
		t.Errorf("Generate after Close: %v, want ErrHashWorker", err)
	}
	if len(w.PIDs()) != 0 {
		t.Errorf("workers %v after Close", w.PIDs())
	}

	// Close racing the start of a worker, many rounds: no worker outlives
	// Close, and none answers after it returned.
	for round := range 20 {
		w := newWorkers(t, 1, WorkerOptions{})
		done := make(chan error, 1)
		go func() {
			_, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost)
			done <- err
		}()
		w.Close()
		closedAt := time.Now()
		<-done
		if pids := w.PIDs(); len(pids) != 0 {
			t.Fatalf("round %d: workers %v outlived Close", round, pids)
		}
		if _, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost); !errors.Is(err, ErrHashWorker) {
			t.Fatalf("round %d: Generate %v after Close returned, want ErrHashWorker", round, time.Since(closedAt))
		}
	}
}

// ServeWorker answers what bcrypt answers, with the request's sequence
// number, refuses what is not a request, and ends cleanly when its input
// ends.
func TestServeWorker_AnswersLikeBcryptAndRefusesGarbage(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	frame := func(op byte, cost int, f1, f2 []byte) []byte {
		var b bytes.Buffer
		if err := writeFrame(&b, op, byte(cost), 42, f1, f2); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	for _, c := range []struct {
		name       string
		in         []byte
		wantStatus byte
		wantErr    bool // ServeWorker itself fails: not a frame
	}{
		{"right password", frame(opCompare, 0, hash, []byte("right")), statusOK, false},
		{"wrong password", frame(opCompare, 0, hash, []byte("wrong")), statusMismatch, false},
		{"malformed hash", frame(opCompare, 0, []byte("x"), []byte("right")), statusError, false},
		{"generate", frame(opGenerate, bcrypt.MinCost, nil, []byte("right")), statusOK, false},
		{"over 72 bytes", frame(opGenerate, bcrypt.MinCost, nil, bytes.Repeat([]byte("a"), 73)), statusError, false},
		{"unknown operation", frame('X', 0, nil, nil), statusError, false},
		{"cut short", frame(opCompare, 0, hash, []byte("right"))[:10], 0, true},
		{"field too long", []byte{opCompare, 0, 0, 0, 0, 42, 0xff, 0xff}, 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out bytes.Buffer
			err := ServeWorker(bytes.NewReader(c.in), &out)
			if (err != nil) != c.wantErr {
				t.Fatalf("ServeWorker: %v, want error %v", err, c.wantErr)
			}
			if c.wantErr {
				return
			}
			status, _, seq, payload, _, err := readFrame(&out)
			if err != nil || status != c.wantStatus || seq != 42 {
				t.Fatalf("reply %d #%d %q (%v), want status %d for #42", status, seq, payload, err, c.wantStatus)
			}
			if c.name == "generate" && bcrypt.CompareHashAndPassword(payload, []byte("right")) != nil {
				t.Errorf("generated %q does not check", payload)
			}
		})
	}
}

// An input no bcrypt accepts is the caller's mistake: refused before a
// worker is taken, and no worker is ended for it.
func TestWorkers_InputTooLongIsRefusedWithoutEndingAWorker(t *testing.T) {
	w := newWorkers(t, 1, WorkerOptions{})
	if _, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	before := onePID(t, w)
	err := w.Compare(t.Context(), bytes.Repeat([]byte("h"), 2000), []byte("x"))
	if err == nil || errors.Is(err, ErrHashWorker) {
		t.Errorf("a 2000-byte hash: %v, want a plain error, not a worker failure", err)
	}
	if after := onePID(t, w); after != before {
		t.Errorf("worker %d replaced by %d for the caller's mistake", before, after)
	}
}

// With InWorkerProcesses the slot only bounds the workers: the work runs
// on the caller's own goroutine and thread, and GOMAXPROCS is left alone.
func TestHashSlots_InWorkerProcessesTheWorkRunsOnTheCallersThread(t *testing.T) {
	s := NewHashSlots(1, time.Second, InWorkerProcesses())
	// An earlier test's hash may still have GOMAXPROCS raised: wait until
	// it is given back, so that what this test sees is its own doing.
	deadline := time.Now().Add(procsIdle + 5*time.Second)
	for {
		extraProcs.mu.Lock()
		raised := extraProcs.raised
		extraProcs.mu.Unlock()
		if raised == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("GOMAXPROCS still raised by an earlier hash")
		}
		time.Sleep(50 * time.Millisecond)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before, lockedTid := runtime.GOMAXPROCS(0), syscall.Gettid()
	var tid, during int
	if err := s.Do(t.Context(), func() { tid, during = syscall.Gettid(), runtime.GOMAXPROCS(0) }); err != nil {
		t.Fatal(err)
	}
	if tid != lockedTid {
		t.Errorf("the work ran on thread %d, want the caller's %d", tid, lockedTid)
	}
	if during != before {
		t.Errorf("GOMAXPROCS %d while the work ran, want %d as before", during, before)
	}
}

// A worker that did not answer in time (hung, or starved at its lower
// priority by other work) makes the next workers run at the server's
// priority for StarvedFor, so that logins go on being served; after it,
// a worker at the lower priority replaces the one started meanwhile.
func TestWorkers_AfterAWorkerDidNotAnswerInTimeTheNextRunAtTheServersPriority(t *testing.T) {
	base := baseNice(t)
	const starvedFor = 2 * time.Second
	w := newWorkers(t, 1, WorkerOptions{Nice: 7, MaxTime: 300 * time.Millisecond, StarvedFor: starvedFor})
	niceOfWorker := func() int {
		t.Helper()
		pid := onePID(t, w)
		n, err := niceOf(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	hash, err := w.Generate(t.Context(), []byte("a password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if got := niceOfWorker(); got != min(base+7, 19) {
		t.Fatalf("first worker at nice %d, want %d", got, min(base+7, 19))
	}
	if err := syscall.Kill(onePID(t, w), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := w.Compare(t.Context(), hash, []byte("a password")); !errors.Is(err, ErrHashWorker) {
		t.Fatalf("compare on a stopped worker: %v, want ErrHashWorker", err)
	}
	starved := time.Now()
	if err := w.Compare(t.Context(), hash, []byte("a password")); err != nil {
		t.Fatal(err)
	}
	if got := niceOfWorker(); got != base {
		t.Errorf("the worker after one did not answer in time at nice %d, want the server's %d", got, base)
	}
	meanwhile := onePID(t, w)
	time.Sleep(time.Until(starved.Add(starvedFor + 100*time.Millisecond))) // the clock decides
	if err := w.Compare(t.Context(), hash, []byte("a password")); err != nil {
		t.Fatal(err)
	}
	waitGone(t, meanwhile, "the worker started during the starved spell")
	// Reaped first, then forgotten: PIDs() follows a moment later.
	for deadline := time.Now().Add(5 * time.Second); slices.Contains(w.PIDs(), meanwhile); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("PIDs() = %v 5 s after worker %d exited", w.PIDs(), meanwhile)
		}
	}
	if got := niceOfWorker(); got != min(base+7, 19) {
		t.Errorf("the worker %v after, at nice %d, want %d again", starvedFor, got, min(base+7, 19))
	}
}
