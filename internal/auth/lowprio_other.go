//go:build !linux

package auth

const lowPrioritySupported = false

func setThreadNice(int) {}
