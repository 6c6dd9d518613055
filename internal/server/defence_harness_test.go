package server_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-chi/chi/v5"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/redisdb"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// appOptions adds, to what newApp builds, what the defence-in-depth tests
// need: the server's own dependencies and test-only routes.
type appOptions struct {
	config []func(*config.Config)
	deps   func(*server.Deps) // e.g. the hashing slots
	routes func(*chi.Mux)     // test-only routes, behind the real middleware
}

// newDefendedApp is newApp built the way run() builds the server: on the
// Redis backend the login and sign-up throttling counts live in that Redis
// (under the test's own prefix), so every instance made with
// defendedHandler shares them, as replicas do.
func newDefendedApp(t *testing.T, b backend, opts appOptions) *testApp {
	t.Helper()
	a := &testApp{t: t, env: b.open(t), logs: &testenv.SyncBuffer{}, secrets: map[string]string{}, cfg: testConfig(t)}
	for _, f := range opts.config {
		f(&a.cfg)
	}
	t.Cleanup(a.checkNoSecretsLeaked)
	a.ts = httptest.NewTLSServer(a.defendedHandler(opts))
	t.Cleanup(a.ts.Close)
	return a
}

// defendedHandler builds one more server instance over the app's database,
// session store and (on Redis) throttling counts.
func (a *testApp) defendedHandler(opts appOptions) http.Handler {
	a.t.Helper()
	d := server.Deps{
		Config: a.cfg,
		Logger: slog.New(slog.NewTextHandler(a.logs, nil)),
		DB:     a.env.db,
		Store:  a.env.store,
	}
	if a.env.redisURL != "" {
		pool := redisdb.NewPool(a.env.redisURL)
		a.t.Cleanup(func() { pool.Close() })
		d.RateLimitCounter = redisdb.LimitCounters(pool, rateLimitPrefix(a))
	}
	if opts.deps != nil {
		opts.deps(&d)
	}
	h, err := server.NewServer(d)
	if err != nil {
		a.t.Fatal(err)
	}
	if opts.routes != nil {
		mux, ok := h.(*chi.Mux)
		if !ok {
			a.t.Fatalf("NewServer returned a %T, not the *chi.Mux these tests add routes to", h)
		}
		opts.routes(mux)
	}
	return h
}

// rateLimitPrefix is where a Redis-backed app keeps its throttling counts,
// beside (never under) the session keys, as run() does.
func rateLimitPrefix(a *testApp) string { return a.env.prefix + "ratelimit:" }

// sibling is a second app instance (its own TLS listener) over the same
// database, session store and throttling counts: another replica.
func (a *testApp) sibling(opts appOptions) *testApp {
	a.t.Helper()
	s := &testApp{t: a.t, env: a.env, logs: a.logs, secrets: map[string]string{}, cfg: a.cfg}
	for _, f := range opts.config {
		f(&s.cfg)
	}
	a.t.Cleanup(s.checkNoSecretsLeaked)
	s.ts = httptest.NewTLSServer(s.defendedHandler(opts))
	a.t.Cleanup(s.ts.Close)
	return s
}
