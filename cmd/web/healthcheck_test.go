package main

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
)

// The Dockerfile's HEALTHCHECK runs `sessionlab healthcheck` in the
// container, with the container's environment: it must find the server
// that environment starts, and fail when nothing answers there.
func TestHealthcheck_PassesWhileTheServerRunsAndFailsOnceItStops(t *testing.T) {
	addr, stop, _ := startRun(t, nil)
	env := map[string]string{"ADDR": addr}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"web", "healthcheck"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("healthcheck of a running server: %v (%s)", err, out.String())
	}
	if !strings.Contains(out.String(), "200") {
		t.Errorf("healthcheck output %q does not name the status", out.String())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := run(context.Background(), []string{"web", "healthcheck"}, func(k string) string { return env[k] }, &out, &out); err == nil {
		t.Fatalf("healthcheck passed with the server stopped (%s)", out.String())
	}
}

func TestHealthcheck_NeverOpensTheDatabase(t *testing.T) {
	// A DATABASE_URL whose directory cannot be created: a probe that opened
	// (and migrated) the database would fail on it before asking.
	addr, _, _ := startRun(t, nil)
	env := map[string]string{"ADDR": addr, "DATABASE_URL": "sqlite:/proc/no-such-dir/app.db"}
	var out bytes.Buffer
	if err := run(context.Background(), []string{"web", "healthcheck"}, func(k string) string { return env[k] }, &out, &out); err != nil {
		t.Fatalf("healthcheck: %v (%s)", err, out.String())
	}
}

func TestHealthzURL_LoopbackForWildcardHosts(t *testing.T) {
	for addr, want := range map[string]string{
		":8080":          "http://127.0.0.1:8080/healthz",
		"0.0.0.0:9000":   "http://127.0.0.1:9000/healthz",
		"[::]:8080":      "http://[::1]:8080/healthz",
		"localhost:8080": "http://localhost:8080/healthz",
		"10.1.2.3:80":    "http://10.1.2.3:80/healthz",
	} {
		if got := healthzURL(config.Config{Addr: addr}); got != want {
			t.Errorf("healthzURL(%q) = %q, want %q", addr, got, want)
		}
	}
	if got := healthzURL(config.Config{Addr: ":8443", TLSCert: "c", TLSKey: "k"}); got != "https://127.0.0.1:8443/healthz" {
		t.Errorf("with TLS: %q", got)
	}
}

// With SHUTDOWN_DELAY, a stopping process answers /healthz 503 (so a
// proxy stops sending it requests) while it still serves every other page,
// and only then closes its listener.
func TestRun_ShutdownDelayReportsStoppingBeforeTheListenerCloses(t *testing.T) {
	addr, stop, logs := startRun(t, map[string]string{"SHUTDOWN_DELAY": "1500ms"})
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()

	deadline := time.Now().Add(time.Second)
	for {
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatalf("/healthz during the delay: %v", err)
		}
		res.Body.Close()
		if res.StatusCode == http.StatusServiceUnavailable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz still %d a second after the stop", res.StatusCode)
		}
		time.Sleep(10 * time.Millisecond)
	}
	res, err := http.Get("http://" + addr + "/login")
	if err != nil {
		t.Fatalf("/login while stopping: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/login while stopping: %d, want 200 (still served)", res.StatusCode)
	}
	select {
	case err := <-stopped:
		t.Fatalf("run returned (%v) before the delay was over", err)
	default:
	}
	if err := <-stopped; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logs.String(), `"msg":"stopping: /healthz reports it; still serving"`) {
		t.Errorf("no stopping line in the log:\n%s", logs.String())
	}
}

// LOG_LEVEL=debug writes one line per request with its id, path and status,
// and never the query string; the default level writes none.
func TestRun_DebugLevelLogsEachRequestWithoutItsQuery(t *testing.T) {
	for _, level := range []string{"", "debug"} {
		addr, stop, logs := startRun(t, map[string]string{"LOG_LEVEL": level})
		res, err := http.Get("http://" + addr + "/login?next=%2Fprofile%3Fsecret-marker")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		id := res.Header.Get("X-Request-Id")
		if err := stop(); err != nil {
			t.Fatal(err)
		}
		logged := strings.Contains(logs.String(), `"request_id":"`+id+`"`) && strings.Contains(logs.String(), `"msg":"request"`)
		if level == "debug" && !logged {
			t.Errorf("LOG_LEVEL=debug: no request line for %s:\n%s", id, logs.String())
		}
		if level == "" && logged {
			t.Errorf("default level logged the request:\n%s", logs.String())
		}
		if strings.Contains(logs.String(), "secret-marker") {
			t.Errorf("LOG_LEVEL=%q: the query string reached the log:\n%s", level, logs.String())
		}
	}
}
