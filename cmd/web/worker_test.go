package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sessionlab/sessionlab/internal/auth"
)

// TestMain lets this test binary be started as a bcrypt worker, as run
// starts the real binary (BCRYPT_WORKERS=process, the default): the tests
// that call run then hash in worker processes, as the program does.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == auth.WorkerCommand {
		if err := run(context.Background(), os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// workerChildren lists this process's child processes that are bcrypt
// workers, with their niceness (from /proc/PID/stat).
func workerChildren(t *testing.T) map[int]int {
	t.Helper()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	found := map[int]int{}
	for _, stat := range stats {
		b, err := os.ReadFile(stat)
		if err != nil {
			continue // ended meanwhile
		}
		fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		// Fields from state (3): ppid is field 4, nice field 19.
		ppid, _ := strconv.Atoi(fields[1])
		nice, _ := strconv.Atoi(fields[16])
		if ppid != os.Getpid() {
			continue
		}
		dir := filepath.Dir(stat)
		cmdline, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		if bytes.Contains(cmdline, []byte(auth.WorkerCommand)) {
			pid, _ := strconv.Atoi(filepath.Base(dir))
			found[pid] = nice
		}
	}
	return found
}

// With the defaults, a sign-up and a login hash and check the password in
// a bcrypt worker process of the program's own, BCRYPT_NICE (10) steps
// nicer than the server and without its environment, and stopping the
// program ends it.
func TestRun_BcryptRunsInAWorkerProcessTenStepsNicerAndEndsWithTheProgram(t *testing.T) {
	if len(workerChildren(t)) != 0 {
		t.Fatal("a worker of an earlier test is still running")
	}
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0) // the server's niceness: this process's
	if err != nil {
		t.Fatal(err)
	}
	serverNice := 20 - raw
	a := startHTTPS(t, map[string]string{"BCRYPT_CONCURRENCY": "1"}, nil)
	a.signUpAndIn()
	workers := workerChildren(t)
	if len(workers) != 1 {
		t.Fatalf("bcrypt workers after a sign-up and a login: %v, want one (BCRYPT_CONCURRENCY=1)", workers)
	}
	for pid, nice := range workers {
		if want := min(serverNice+10, 19); nice != want {
			t.Errorf("worker %d at nice %d, want %d", pid, nice, want)
		}
		// None of the server's environment (credentials in DATABASE_URL
		// or REDIS_URL) reaches the worker.
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || string(env) != "GOMAXPROCS=1\x00" {
			t.Errorf("worker %d environment %q (%v), want GOMAXPROCS=1 alone", pid, env, err)
		}
	}
	if err := a.stop(); err != nil {
		t.Fatal(err)
	}
	for pid := range workers {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("worker %d still exists after the program stopped (%v)", pid, err)
		}
	}
}
