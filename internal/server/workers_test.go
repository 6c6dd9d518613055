package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/server"
)

// TestMain lets this test binary be started as a bcrypt worker, so that
// the tests below run bcrypt in real worker processes as the program
// does (the other tests of this package hash in the test process).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == auth.WorkerCommand {
		if err := auth.ServeWorker(auth.WorkerFiles()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Fail closed: a bcrypt worker that cannot be had, or hangs, is a
// dependency down. A login then gets a 503 (within the request's deadline)
// and no session, the signed-in keep their pages (which never hash), and
// logins work again once workers start again, without a restart; the
// outage is logged once, not per refused login.
func TestHashWorkersBroken_LoginIs503AndNobodyIsSignedInUntilTheyWorkAgain(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		var broken atomic.Bool
		workers := auth.NewWorkers(1, func() *exec.Cmd {
			if broken.Load() {
				return exec.Command("false") // exits at once, answering nothing
			}
			return exec.Command(exe, auth.WorkerCommand)
		}, auth.WorkerOptions{MaxTime: 5 * time.Second})
		t.Cleanup(func() { workers.Close() })
		const requestTimeout = 2 * time.Second
		app := newDefendedApp(t, b, appOptions{
			deps: func(d *server.Deps) {
				d.HashWorkers = workers
				d.HashSlots = auth.NewHashSlots(1, time.Second, auth.InWorkerProcesses())
			},
			config: []func(*config.Config){func(c *config.Config) { c.RequestTimeout, c.BcryptWait = requestTimeout, time.Second }},
		})
		email, pw := newUser()
		member := app.newClient()
		member.signup(email, pw) // hashed in a worker

		broken.Store(true)
		for _, pid := range workers.PIDs() {
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
		}
		visitor := app.newClient()
		visitor.get("/login")
		r := visitor.post("/login", url.Values{"email": {email}, "password": {pw}})
		if r.status != http.StatusServiceUnavailable {
			t.Fatalf("login with no bcrypt worker to be had: %d, want 503\n%s", r.status, r.body)
		}
		if strings.Contains(r.body, email) || strings.Contains(r.body, "bcrypt") || strings.Contains(r.body, "worker") {
			t.Errorf("the 503 page shows the user or internals:\n%s", r.body)
		}
		visitor.mustBeAnonymous()
		member.mustBeSignedIn(email)

		broken.Store(false)
		visitor.login(email, pw)
		visitor.mustBeSignedIn(email)

		// A worker that hangs: the login is answered 503 when the
		// request's deadline passes, not later, and nobody is signed in.
		for _, pid := range workers.PIDs() {
			if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
		}
		late := app.newClient()
		late.get("/login")
		start := time.Now()
		r = late.post("/login", url.Values{"email": {email}, "password": {pw}})
		if took := time.Since(start); r.status != http.StatusServiceUnavailable || took > requestTimeout+time.Second {
			t.Fatalf("login on a hung worker: %d after %v, want 503 within REQUEST_TIMEOUT %v + 1 s", r.status, took, requestTimeout)
		}
		late.mustBeAnonymous()
		late.login(email, pw) // a fresh worker
		// Two outages (no worker to be had, then a hung one), each logged
		// as one (they may read as one if the login between came within a
		// second of the first failure).
		if n := strings.Count(app.logs.String(), "bcrypt worker unavailable"); n < 1 || n > 2 {
			t.Errorf("%d \"bcrypt worker unavailable\" lines, want one per outage (1 or 2)\n%s", n, app.logs.String())
		}
	})
}
