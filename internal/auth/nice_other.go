//go:build !linux

package auth

// setThreadNice does nothing where a thread's priority cannot be set on
// its own (the workers then run at the server's priority).
func setThreadNice(int) {}
