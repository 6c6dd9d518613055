package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// startRun starts the real program on 127.0.0.1:0 and returns its address
// once /healthz answers, and a function that stops it and returns run's error.
// The listening line is logged once the listener is open, so /healthz
// answers at the first request.
func startRun(t *testing.T, env map[string]string) (addr string, stop func() error, logs *testenv.SyncBuffer) {
	t.Helper()
	base := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "data", "app.db"),
		"LOG_FORMAT":   "json",
		"BCRYPT_COST":  "10",
		// Workers of this -race test binary at the server's priority: at nice
		// 10 they start and hash too slowly while other packages load the CPUs
		// (TestBinary_BcryptRuns... checks the niceness, on the built binary).
		"BCRYPT_NICE": "0",
	}
	for k, v := range env {
		base[k] = v
	}
	getenv := func(k string) string { return base[k] }
	ctx, cancel := context.WithCancel(context.Background())
	logs = &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"web"}, getenv, logs, logs) }()

	deadline := time.Now().Add(10 * time.Second)
	for addr == "" {
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listening line within 10s; log:\n%s", logs.String())
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		addr = testenv.ListeningAddr(logs.String())
	}
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		cancel()
		t.Fatalf("/healthz: %v\n%s", err, logs.String())
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("/healthz: %d, want 200\n%s", res.StatusCode, logs.String())
	}
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				runErr = fmt.Errorf("run did not return within 20s of cancellation")
			}
		})
		return runErr
	}
	t.Cleanup(func() { stop() })
	return addr, stop, logs
}

func TestRun_ServesHealthzAndReadyzThenStops(t *testing.T) {
	addr, stop, _ := startRun(t, nil)
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d, want 200", res.StatusCode)
	}
	res, err = http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Session Lab")) {
		t.Errorf("GET /: %d, want 200 with the home page", res.StatusCode)
	}
	if err := stop(); err != nil {
		t.Errorf("run returned %v after cancellation, want nil", err)
	}
}

func TestRun_WithRedisSessionsIsReady(t *testing.T) {
	u := testenv.RedisURL(t)
	addr, stop, logs := startRun(t, map[string]string{"REDIS_URL": u})
	res, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET /readyz: %d, want 200\n%s", res.StatusCode, logs.String())
	}
	if err := stop(); err != nil {
		t.Error(err)
	}
}

// Graceful shutdown: a request already in flight when the signal arrives
// still gets its answer, and run then returns cleanly.
func TestRun_ShutdownLetsRequestsInFlightFinish(t *testing.T) {
	addr, stop, _ := startRun(t, nil)
	// An idle keep-alive connection: Shutdown closes idle connections
	// first, so its end tells the test that the shutdown has begun.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	idleR := bufio.NewReader(idle)
	fmt.Fprintf(idle, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	res, err := http.ReadResponse(idleR, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()

	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := "email=a%40example.com&password=secret-password"
	fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", addr, len(body))
	br := bufio.NewReader(conn)
	// The server asks for the body when the handler starts reading it:
	// from then on the request is in flight.
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("before the body: %q, %v; want 100 Continue", line, err)
	}
	if line, err := br.ReadString('\n'); err != nil || line != "\r\n" {
		t.Fatalf("after 100 Continue: %q, %v; want the blank line", line, err)
	}
	io.WriteString(conn, body[:10])

	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	idle.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := idleR.ReadByte(); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("the idle connection was not closed within 10 s of the stop (%v): no shutdown", err)
	}
	// The shutdown is under way: run must wait for the request.
	select {
	case err := <-stopped:
		t.Fatalf("run returned (%v) while a request was in flight", err)
	case <-time.After(100 * time.Millisecond):
	}

	io.WriteString(conn, body[10:])
	res, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the in-flight request got no answer: %v", err)
	}
	res.Body.Close()
	// No CSRF token: refused, but answered.
	if res.StatusCode != http.StatusForbidden {
		t.Errorf("in-flight POST /login: %d, want 403", res.StatusCode)
	}
	if err := <-stopped; err != nil {
		t.Errorf("run returned %v, want nil", err)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("the listener still accepts connections after shutdown")
	}
}

func TestRun_RefusesInvalidConfigurationNamingTheVariable(t *testing.T) {
	tests := map[string]string{
		"BCRYPT_COST":          "9",
		"SESSION_IP_BINDING":   "maybe",
		"SESSION_IDLE_TIMEOUT": "13h",
	}
	for name, value := range tests {
		t.Run(name, func(t *testing.T) {
			env := map[string]string{name: value, "DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "x.db")}
			var out testenv.SyncBuffer
			err := run(context.Background(), []string{"web"}, func(k string) string { return env[k] }, &out, &out)
			if err == nil || !strings.Contains(err.Error(), name) {
				t.Errorf("run with %s=%s: error %v, want one naming %s", name, value, err, name)
			}
		})
	}
}

func TestRun_MigrateCommandAppliesMigrationsAndExits(t *testing.T) {
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "m.db")
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return dbURL
		}
		return ""
	}
	for i, want := range []string{"applied now", "(0 migration(s) applied now)"} {
		var out testenv.SyncBuffer
		if err := run(context.Background(), []string{"web", "migrate"}, getenv, &out, &out); err != nil {
			t.Fatalf("migrate #%d: %v", i+1, err)
		}
		if !strings.Contains(out.String(), want) {
			t.Errorf("migrate #%d output %q, want it to contain %q", i+1, out.String(), want)
		}
	}
}
