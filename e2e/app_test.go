//go:build e2e

package e2e

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/assembly"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

const cookieName = "__Host-session"

// eachStore runs fn as the subtests "sqlite" (sessions in the embedded
// database, the default) and "redis" (sessions in Redis, as replicas share
// them). Without Chromium the whole test skips (fails in CI) with one
// line; the redis subtest follows testenv.Unavailable too.
func eachStore(t *testing.T, fn func(t *testing.T, kind string)) {
	t.Helper()
	requireChromium(t)
	for _, kind := range []string{"sqlite", "redis"} {
		t.Run(kind, func(t *testing.T) { fn(t, kind) })
	}
}

// app is Session Lab served on a loopback port for one test.
type app struct {
	// URL is what the browser opens: http://localhost:PORT. Chromium treats
	// http://localhost as a secure context, so it accepts the Secure
	// __Host-session cookie without TLS, as it does for `make run`.
	URL string
	// direct is the same listener as http://127.0.0.1:PORT, for the Go
	// clients that play an attacker replaying a cookie value.
	direct string
	// Lab is the attack lab's other site, when the test turned it on.
	Lab string
}

// startApp builds the app with assembly.New, as cmd/web does, on a fresh
// SQLite file and, for kind "redis", a Redis namespace of the test's own,
// and serves it until the test ends. tweak adjusts the configuration (the
// defaults, with the fastest bcrypt cost).
func startApp(t *testing.T, kind string, tweak ...func(*config.Config)) *app {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	// bcrypt in this process: a test binary is no worker (cmd/web's tests and
	// the built binary's run it in worker processes, the default).
	cfg.BcryptWorkers = config.BcryptInThreads
	for _, f := range tweak {
		f(&cfg)
	}

	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "sessionlab.db")
	var opts []assembly.Option
	switch kind {
	case "sqlite":
	case "redis":
		cfg.RedisURL = testenv.RedisURL(t)
		opts = append(opts, assembly.RedisNamespace(testenv.RedisPrefix(t, cfg.RedisURL)))
	default:
		t.Fatalf("unknown store %q", kind)
	}

	logs := &testenv.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	built, err := assembly.New(t.Context(), cfg, logger, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := built.Close(); err != nil {
			t.Errorf("close the app: %v", err)
		}
	})
	// The attack lab, when a tweak sets LAB_ATTACKER_ADDR: its other site
	// on 127.0.0.1 (the app is opened as localhost: another site).
	lab := built.Lab
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// On failure, the server log goes beside the screenshot. Registered
	// before the server's shutdown, so it runs after it: the log is complete.
	t.Cleanup(func() {
		if t.Failed() {
			path := filepath.Join(artifactDir(t), "server.log")
			if err := os.WriteFile(path, []byte(logs.String()), 0o644); err != nil {
				t.Logf("write the server log: %v", err)
				return
			}
			t.Logf("server log: %s", path)
		}
	})
	srv := &http.Server{Handler: built.Handler, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve: %v", err)
		}
	}()
	// Registered after the app's Close, so it runs before it: the server
	// stops taking requests before the store goes away.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shut down the app: %v", err)
		}
	})
	port := ln.Addr().(*net.TCPAddr).Port
	a := &app{
		URL:    "http://localhost:" + strconv.Itoa(port),
		direct: "http://127.0.0.1:" + strconv.Itoa(port),
	}
	if lab != nil {
		lab.SetApp(a.URL, ln.Addr().String())
		labLn, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		a.Lab = "http://" + labLn.Addr().String()
		lab.SetURL(a.Lab)
		labSrv := &http.Server{Handler: lab.Handler(), ReadHeaderTimeout: 5 * time.Second}
		go labSrv.Serve(labLn)
		t.Cleanup(func() { labSrv.Close() })
	}
	return a
}

// replay asks for path with only the given session cookie value, from a Go
// client with no cookie jar: an attacker who holds the value. It returns
// the status and the Location of the answer; redirects are not followed.
func (a *app) replay(t *testing.T, path, value string) (status int, location string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.direct+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.AddCookie(&http.Cookie{Name: cookieName, Value: value})
	hc := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET %s with a replayed cookie: %v", path, err)
	}
	res.Body.Close()
	return res.StatusCode, res.Header.Get("Location")
}

var (
	newUser     = testenv.NewUser
	madeUpToken = testenv.MadeUpToken
)
