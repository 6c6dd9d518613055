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
	"github.com/sessionlab/sessionlab/internal/server"
)

// TestMain lets this test binary be started as a bcrypt worker, so that
// the tests below run bcrypt in real worker processes as the program
// does (the other tests of this package hash in the test process).
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == auth.WorkerCommand {
		if err := auth.ServeWorker(os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// Fail closed: a bcrypt worker that cannot be had is a dependency down. A
// login then gets a 503 and no session, the signed-in keep their pages
// (which never hash), and logins work again once workers start again,
// without a restart.
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
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) {
			d.HashWorkers = workers
			d.HashSlots = auth.NewHashSlots(1, 2*time.Second, auth.InWorkerProcesses())
		}})
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
	})
}
