//go:build linux

package auth

import (
	"syscall"
	"time"
)

const lowPrioritySupported = true

// setThreadNice raises the calling OS thread's niceness by steps (capped
// at 19), from what it is: a process started under nice keeps its order.
// On Linux setpriority(PRIO_PROCESS, tid) applies to that one thread, and
// getpriority returns 20 − niceness. Raising the niceness needs no
// privilege; an error leaves the thread as it was, which costs latency,
// never correctness.
func setThreadNice(steps int) {
	tid := syscall.Gettid()
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, tid)
	if err != nil {
		return
	}
	if now := 20 - raw; now < 19 {
		_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, min(19, now+steps))
	}
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
