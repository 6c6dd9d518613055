package auth

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestMain makes this test binary a bcrypt worker when started as one
// (SelfCommand), as the real binary is.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == WorkerCommand {
		if err := ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

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

func TestWorkers_HashAndCheckInAProcessOfTheirOwn(t *testing.T) {
	h, err := NewHasher(bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorkers(t, 1, WorkerOptions{})
	h.UseWorkers(w)
	hash, err := h.Hash("correct horse battery")
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
		if ok, err := h.Check(c.hash, c.password); ok != c.want || err != nil {
			t.Errorf("Check(%q) = %v, %v; want %v", c.password, ok, err, c.want)
		}
	}
	if _, err := h.Check([]byte("not a hash"), "x"); err == nil || errors.Is(err, ErrHashWorker) {
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
// its start; no thread of the server that runs Go code is lowered.
func TestWorkers_EveryThreadOfAWorkerRunsAtTheLowerPriority(t *testing.T) {
	base := baseNice(t)
	w := newWorkers(t, 1, WorkerOptions{Nice: 7})
	if _, err := w.Generate([]byte("a password"), bcrypt.MinCost); err != nil {
		t.Fatal(err)
	}
	pid := onePID(t, w)
	tasks, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %d: %v", pid, err)
	}
	for _, task := range tasks {
		if got := taskNice(t, fmt.Sprintf("/proc/%d/task/%s/stat", pid, task.Name())); got != min(base+7, 19) {
			t.Errorf("worker thread %s at nice %d, want %d", task.Name(), got, min(base+7, 19))
		}
	}
	self, _ := os.ReadDir("/proc/self/task")
	for _, task := range self {
		if task.Name() == fmt.Sprint(os.Getpid()) {
			continue // the main thread: if the fork ran there, the runtime parked it for good
		}
		if got := taskNice(t, "/proc/self/task/"+task.Name()+"/stat"); got != base {
			t.Errorf("server thread %s at nice %d, want %d: the lowered fork thread was not ended", task.Name(), got, base)
		}
	}
}

// A worker that died between operations is replaced, and the operation
// that found it dead still gets its answer.
func TestWorkers_ADeadWorkerIsReplacedWithoutFailingTheOperation(t *testing.T) {
	w := newWorkers(t, 1, WorkerOptions{})
	hash, err := w.Generate([]byte("a password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	first := onePID(t, w)
	if err := syscall.Kill(first, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for !gone(first) && processState(first) != "Z" {
		time.Sleep(10 * time.Millisecond) // until the kernel has it dead
	}
	if err := w.Compare(hash, []byte("a password")); err != nil {
		t.Fatalf("compare after the worker died: %v, want it done by a new one", err)
	}
	if second := onePID(t, w); second == first {
		t.Errorf("still worker %d, want a new one", first)
	}
	if !gone(first) {
		t.Errorf("the dead worker %d was not reaped", first)
	}
}

// processState is the state letter in /proc/pid/stat ("" if gone).
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	return fields[0]
}

// A worker that hangs (SIGSTOP) is ended after MaxTime: the operation
// fails with ErrHashWorker, never waits longer, and the next one runs in a
// fresh worker.
func TestWorkers_AHungWorkerIsEndedAfterMaxTime(t *testing.T) {
	const maxTime = 300 * time.Millisecond
	w := newWorkers(t, 1, WorkerOptions{MaxTime: maxTime})
	hash, err := w.Generate([]byte("a password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	hung := onePID(t, w)
	if err := syscall.Kill(hung, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = w.Compare(hash, []byte("a password"))
	took := time.Since(start)
	if !errors.Is(err, ErrHashWorker) {
		t.Fatalf("compare on a hung worker: %v, want ErrHashWorker", err)
	}
	if took < maxTime || took > maxTime+time.Second {
		t.Errorf("answered after %v, want MaxTime %v (+ < 1 s)", took, maxTime)
	}
	if !gone(hung) {
		t.Errorf("the hung worker %d still exists", hung)
	}
	if err := w.Compare(hash, []byte("a password")); err != nil {
		t.Fatalf("compare after the hung worker was ended: %v", err)
	}
}

// Close ends every worker; nothing runs in them after it.
func TestWorkers_CloseEndsEveryWorker(t *testing.T) {
	w := newWorkers(t, 2, WorkerOptions{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := w.Generate([]byte("a password"), bcrypt.MinCost); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	pids := w.PIDs()
	if len(pids) == 0 {
		t.Fatal("no worker ran")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for _, pid := range pids {
		if !gone(pid) {
			t.Errorf("worker %d still exists after Close", pid)
		}
	}
	if _, err := w.Generate([]byte("a password"), bcrypt.MinCost); !errors.Is(err, ErrHashWorker) {
		t.Errorf("Generate after Close: %v, want ErrHashWorker", err)
	}
	if len(w.PIDs()) != 0 {
		t.Errorf("workers %v after Close", w.PIDs())
	}
}

// ServeWorker answers what bcrypt answers, refuses what is not a request,
// and ends cleanly when its input ends.
func TestServeWorker_AnswersLikeBcryptAndRefusesGarbage(t *testing.T) {
	hash, _ := bcrypt.GenerateFromPassword([]byte("right"), bcrypt.MinCost)
	frame := func(op byte, cost int, f1, f2 []byte) []byte {
		var b bytes.Buffer
		if err := writeFrame(&b, op, byte(cost), f1, f2); err != nil {
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
		{"field too long", []byte{opCompare, 0, 0xff, 0xff}, 0, true},
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
			status, _, payload, _, err := readFrame(&out)
			if err != nil || status != c.wantStatus {
				t.Fatalf("reply %d %q (%v), want status %d", status, payload, err, c.wantStatus)
			}
			if c.name == "generate" && bcrypt.CompareHashAndPassword(payload, []byte("right")) != nil {
				t.Errorf("generated %q does not check", payload)
			}
		})
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
