//go:build linux

package auth

import "syscall"

// setThreadNice raises the calling OS thread's niceness by steps (capped
// at 19), from what it is: a process started under nice keeps its order.
// On Linux setpriority(PRIO_PROCESS, tid) applies to that one thread, and
// getpriority returns 20 − niceness; a process forked from the thread
// inherits it. Raising the niceness needs no privilege; an error leaves
// the thread as it was, which costs latency, never correctness.
func setThreadNice(steps int) {
	if steps <= 0 {
		return
	}
	tid := syscall.Gettid()
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	if now := 20 - raw; now < 19 {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(19, now+steps))
	}
}
