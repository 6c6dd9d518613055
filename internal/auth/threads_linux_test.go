//go:build linux

package auth

import (
	"context"
	"fmt"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// threadNice reads a thread's niceness from /proc (niceOf). It may run
// off the test's goroutine, so it reports with t.Error (and returns
// -100), never t.Fatal.
func threadNice(t *testing.T, tid int) int {
	t.Helper()
	n, err := niceOf(fmt.Sprintf("/proc/self/task/%d/stat", tid))
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

// TestHashSlots_EveryHashRunsOnAThreadOfItsOwnWithOneMoreP: without
// workers the work runs on another OS thread, at the caller's priority, with one P
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

// TestHashSlots_PanicsReachTheCaller: a panic in the work, which runs on
// a goroutine of its own, is the caller's panic, and frees the slot.
func TestHashSlots_PanicsReachTheCaller(t *testing.T) {
	s := NewHashSlots(1, time.Second)
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
