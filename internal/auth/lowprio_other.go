//go:build !linux

package auth

import "time"

const lowPrioritySupported = false

func setThreadNice(int) {}

func threadCPUTime() time.Duration { return 0 }
