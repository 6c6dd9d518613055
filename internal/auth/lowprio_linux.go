//go:build linux

package auth

import "syscall"

const lowPrioritySupported = true

// setThreadNice sets the calling OS thread's niceness. On Linux
// setpriority(PRIO_PROCESS, tid) applies to that one thread. Raising the
// niceness needs no privilege; an error leaves the thread as it was,
// which costs latency, never correctness.
func setThreadNice(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
