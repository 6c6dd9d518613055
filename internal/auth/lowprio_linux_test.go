//go:build linux

package auth

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// threadNice reads a thread's niceness from /proc (field 19 of stat). It
// may run off the test's goroutine, so it reports with t.Error (and
// returns -100), never t.Fatal.
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/stat", tid))
	if err != nil {
		t.Error(err)
		return -100
	}
	// Fields after the command name, which is in parentheses: the first
	// is field 3 (state), so nice (19) is the 17th.
	fields := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	n, err := strconv.Atoi(fields[16])
	if err != nil {
		t.Error(err)
		return -100
	}
	return n
}

// baseNice is the niceness the test process runs at (a CI runner may run
// it under nice): that of a thread no hash ran on.
func baseNice(t *testing.T) int {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return threadNice(t, syscall.Gettid())
}

// lowered lists the process's threads whose niceness is not the
// process's, but for
// the main thread: when a locked goroutine ends on it, the runtime parks it
// for good instead of ending it (it never runs Go code again).
func lowered(t *testing.T) []string {
	t.Helper()
	base := baseNice(t)
	dirs, _ := filepath.Glob("/proc/self/task/*")
	var out []string
	for _, d := range dirs {
		tid, _ := strconv.Atoi(filepath.Base(d))
		if tid == os.Getpid() {
			continue
		}
		if _, err := os.Stat(d); err != nil {
			continue // ended meanwhile
		}
		if n := threadNice(t, tid); n != base {
			out = append(out, fmt.Sprintf("%d (nice %d)", tid, n))
		}
	}
	return out
}

// TestHashSlots_LowPriorityOnlyWhileOthersWait: with LowPriority a hash
// runs at the lower priority only while another request waits for a slot
// (a flood); alone it runs at the normal one. The caller's thread is never
// lowered, and no thread of the process keeps the lowered priority once
// the work is done (the thread ended with it).
func TestHashSlots_LowPriorityOnlyWhileOthersWait(t *testing.T) {
	waitNoneLowered(t, "before the test") // an earlier test's thread may still be ending
	s := NewHashSlots(1, time.Hour, LowPriority(15))
	base := baseNice(t)
	caller := checkOneHash(t, s, base) // nobody waits: the normal priority
	if n := threadNice(t, caller); n != base {
		t.Errorf("the caller's thread is at nice %d afterwards", n)
	}

	// Two requests wait behind the slot the test holds: the first to run
	// has the other still waiting behind it, the second has nobody.
	waiting := make(chan struct{}, 2)
	s.onWait = func() { waiting <- struct{}{} }
	release, err := s.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	nices := make(chan int, 2)
	for range 2 {
		go func() {
			err := s.Do(context.Background(), func() { nices <- threadNice(t, syscall.Gettid()) })
			if err != nil {
				t.Error(err)
			}
		}()
		<-waiting
	}
	release()
	first, second := <-nices, <-nices
	if lower := min(19, base+15); first != lower || second != base {
		t.Errorf("the two queued hashes ran at nice %d and %d, want %d (one still waiting) and %d (none)", first, second, lower, base)
	}

	waitNoneLowered(t, "after the work ended")
}

// waitNoneLowered waits until no thread of the process (but the main one)
// has a lowered priority: a thread ends just after its work, so it gets
// the clock to do so, 5 s at most.
func waitNoneLowered(t *testing.T, when string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for got := lowered(t); len(got) > 0; got = lowered(t) {
		if time.Now().After(deadline) {
			t.Fatalf("threads still at a lowered priority %s: %v", when, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestHashSlots_LowPriorityOffAfterAStarvedHash: a hash that waited for the
// CPU far longer than it ran turns the lower priority off (other processes
// want the CPU, and it would starve every login); a hash that ran its
// course does not.
func TestHashSlots_LowPriorityOffAfterAStarvedHash(t *testing.T) {
	s := NewHashSlots(1, time.Second, LowPriority(19))
	s.waiting.Store(1) // as if a request waited, for lowerNow
	if !s.lowerNow() {
		t.Fatal("lowerNow = false with a request waiting")
	}
	s.checkStarved(100*time.Millisecond, 80*time.Millisecond) // ran most of the time
	if !s.lowerNow() {
		t.Fatal("a hash that ran 80 of its 100 ms turned the lower priority off")
	}
	s.checkStarved(time.Second, 100*time.Millisecond) // waited 900 ms for the CPU
	if s.lowerNow() {
		t.Fatal("a hash that waited 900 ms for 100 ms of CPU left the lower priority on")
	}
	s.waiting.Store(0)

	// Measured for real: work at the lower priority that sleeps (takes
	// wall time and no CPU) reads as starved.
	s = NewHashSlots(1, time.Second, LowPriority(19))
	s.waiting.Store(1)
	if err := s.Do(context.Background(), func() { time.Sleep(2 * starvedSlack) }); err != nil {
		t.Fatal(err)
	}
	if s.lowerNow() {
		t.Error("work that slept 100 ms on no CPU left the lower priority on")
	}
}

// TestHashSlots_EveryHashRunsOnAThreadOfItsOwnWithOneMoreP: by default the
// work runs on another OS thread, at the caller's priority, with one P
// more than GOMAXPROCS had, given back once no hash runs.
func TestHashSlots_EveryHashRunsOnAThreadOfItsOwnWithOneMoreP(t *testing.T) {
	checkOneHash(t, NewHashSlots(1, time.Second), baseNice(t))
	// Given back once no hash has run for procsIdle: the clock decides.
	extraProcs.mu.Lock()
	base := extraProcs.base
	extraProcs.mu.Unlock()
	deadline := time.Now().Add(procsIdle + 5*time.Second)
	for runtime.GOMAXPROCS(0) != base {
		if time.Now().After(deadline) {
			t.Fatalf("GOMAXPROCS = %d %v after the hash, want %d again", runtime.GOMAXPROCS(0), procsIdle+5*time.Second, base)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// checkOneHash runs one piece of work in s from a thread of the test's
// own, and checks that it ran on another thread, at niceness wantNice,
// with GOMAXPROCS at least one above what it was before. It returns the
// test's thread id.
func checkOneHash(t *testing.T, s *HashSlots, wantNice int) (caller int) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	caller = syscall.Gettid()
	var tid, nice, procs int
	if err := s.Do(context.Background(), func() {
		tid = syscall.Gettid()
		nice = threadNice(t, tid)
		procs = runtime.GOMAXPROCS(0)
	}); err != nil {
		t.Fatal(err)
	}
	if tid == caller {
		t.Errorf("the work ran on the caller's thread %d", caller)
	}
	if nice != wantNice {
		t.Errorf("the work ran at nice %d, want %d", nice, wantNice)
	}
	extraProcs.mu.Lock()
	base := extraProcs.base
	extraProcs.mu.Unlock()
	if procs < base+1 {
		t.Errorf("GOMAXPROCS while hashing = %d, want at least %d (one P more than the %d before)", procs, base+1, base)
	}
	return caller
}

// TestHashSlots_LowPriorityPanicsReachTheCaller: a panic in the work is the
// caller's panic, as it would be without LowPriority, and frees the slot.
func TestHashSlots_LowPriorityPanicsReachTheCaller(t *testing.T) {
	s := NewHashSlots(1, time.Second, LowPriority(10))
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want boom", p)
			}
		}()
		_ = s.Do(context.Background(), func() { panic("boom") })
	}()
	if err := s.Do(context.Background(), func() {}); err != nil {
		t.Fatalf("the slot after a panic: %v", err)
	}
}
