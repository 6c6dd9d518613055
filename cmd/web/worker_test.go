package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/testenv"
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

// workerChildren lists parent's child processes that are bcrypt workers,
// with their niceness (from /proc/PID/stat).
func workerChildren(t *testing.T, parent int) map[int]int {
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
		if ppid != parent {
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

// With the defaults, a sign-up hashes the password in a bcrypt worker
// process of the program's own, BCRYPT_NICE (10) steps nicer than the
// program and without its environment, and stopping the program ends it.
// The built binary runs here, as deployed: a worker built with -race
// would start and hash too slowly at nice 10 while other test packages
// keep the CPUs busy.
func TestBinary_BcryptRunsInAWorkerProcessTenStepsNicerAndEndsWithTheProgram(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "web")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	raw, err := syscall.Getpriority(syscall.PRIO_PROCESS, 0) // the program's niceness: this process's
	if err != nil {
		t.Fatal(err)
	}
	serverNice := 20 - raw
	p := startBinary(t, bin, "BCRYPT_CONCURRENCY=1")
	base := p.waitFor(t, startupLine)[1]
	signUp(t, base)

	workers := workerChildren(t, p.cmd.Process.Pid)
	if len(workers) != 1 {
		t.Fatalf("bcrypt workers after a sign-up: %v, want one (BCRYPT_CONCURRENCY=1)", workers)
	}
	for pid, nice := range workers {
		if want := min(serverNice+10, 19); nice != want {
			t.Errorf("worker %d at nice %d, want %d", pid, nice, want)
		}
		// None of the program's environment (credentials in DATABASE_URL
		// or REDIS_URL) reaches the worker.
		if env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid)); err != nil || string(env) != "GOMAXPROCS=1\x00" {
			t.Errorf("worker %d environment %q (%v), want GOMAXPROCS=1 alone", pid, env, err)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if st := p.waitExit(t, 20*time.Second); !st.Success() {
		t.Fatalf("exit %v, want 0\n%s", st, p.out.String())
	}
	for pid := range workers {
		deadline := time.Now().Add(5 * time.Second)
		for !errors.Is(syscall.Kill(pid, 0), syscall.ESRCH) {
			if time.Now().After(deadline) {
				t.Fatalf("worker %d still exists 5 s after the program stopped", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// signUp creates an account through the form at base, as a browser
// would (the anonymous form's CSRF cookie and token), and expects 303.
func signUp(t *testing.T, base string) {
	t.Helper()
	res, err := http.Get(base + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfField.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on /signup:\n%s", body)
	}
	var cookies []string
	for _, c := range res.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	email, password := testenv.NewUser()
	form := url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", strings.Join(cookies, "; "))
	res, err = http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST /signup: %d, want 303\n%s", res.StatusCode, body)
	}
}
