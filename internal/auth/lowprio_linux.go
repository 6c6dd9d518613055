//go:build linux

package auth

import (
	"syscall"
	"time"
)

const lowPrioritySupported = true

// setThreadNice sets the calling OS thread's niceness. On Linux
// setpriority(PRIO_PROCESS, tid) applies to that one thread. Raising the
// niceness needs no privilege; an error leaves the thread as it was,
// which costs latency, never correctness.
func setThreadNice(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}

// threadCPUTime is the CPU time the calling thread has used
// (getrusage(RUSAGE_THREAD)); 0 if it cannot tell, which reads as starved
// only for a hash that took starvedSlack of wall time and no CPU.
func threadCPUTime() time.Duration {
	const rusageThread = 1
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
