package server_test

import (
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/server"
)

// appOptions are what a test adds to the app it starts: configuration,
// the server's own dependencies and test-only routes.
type appOptions struct {
	config []func(*config.Config)
	deps   func(*server.Deps) // e.g. the hashing slots
	routes func(*chi.Mux)     // test-only routes, behind the real middleware
}

// newDefendedApp starts the app on b exactly as run builds it (on the
// Redis backend the throttling counts live in that Redis, under the
// test's namespace, so every instance of it shares them, as replicas
// do), with opts.
func newDefendedApp(t *testing.T, b backend, opts appOptions) *testApp {
	t.Helper()
	return startApp(t, b, opts)
}

// sibling is a second app instance (its own TLS listener) over the same
// database, session store and throttling counts: another replica.
func (a *testApp) sibling(opts appOptions) *testApp {
	a.t.Helper()
	s := &testApp{t: a.t, env: a.env, logs: a.logs, secrets: map[string]string{}, cfg: a.cfg, base: a.base}
	for _, f := range opts.config {
		f(&s.cfg)
	}
	a.t.Cleanup(s.checkNoSecretsLeaked)
	s.ts = httptest.NewTLSServer(s.routed(s.build(s.cfg, opts).Handler, opts))
	a.t.Cleanup(s.ts.Close)
	return s
}

// rateLimitPrefix is where a Redis-backed app keeps its throttling counts,
// beside (never under) the session keys, as run() does.
func rateLimitPrefix(a *testApp) string { return a.env.prefix + "ratelimit:" }
