// Package assembly builds Session Lab from a config.Config, in one place.
// New opens and migrates the database, opens the session store (scs's SQL
// store, or Redis through internal/redisdb when REDIS_URL is set, each with
// its per-user registry), decides where the login and sign-up throttling
// counts live, makes the bcrypt hashing slots and worker processes
// (hashing) and the attack
// lab's other site, and hands all of it to server.NewServer. It returns the
// App: the http.Handler, what a caller may look into, and Close.
//
// cmd/web (run), the server tests (internal/server/harness_test.go) and
// the browser tests (e2e/app_test.go) all build the app with New. What a
// test changes, it passes as an Option (RedisNamespace, Override); it never
// assembles the parts itself. A dependency added here reaches all three.
//
// Why a package of its own rather than a function in internal/server: the
// server takes small interfaces (a *session.Store, a counter factory, the
// hashing slots) and knows nothing of Redis or of how a store is chosen;
// the choice, and the redigo pool behind it, stay here and in
// internal/redisdb. The import runs one way, assembly → server, so the
// server's tests that build the app live in the external test package
// server_test (internal/server/harness_test.go); an internal test of
// package server cannot import this package, and none needs to.
package assembly

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"os/exec"
	"sync/atomic"

	"github.com/go-chi/httprate"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/lab/attacker"
	"github.com/sessionlab/sessionlab/internal/redisdb"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/session"
)

// App is Session Lab built from one Config. Serve Handler; call Close
// once the server has stopped.
type App struct {
	Handler http.Handler
	Config  config.Config
	DB      *database.DB
	// Store holds the sessions; Store.Kind says which store it is:
	// "sqlite", "postgres" or "redis".
	Store *session.Store
	// Lab is the attack lab's other site when LAB_ATTACKER_ADDR is set,
	// else nil. The caller serves it and tells it where the app listens.
	Lab *attacker.Site

	stopping atomic.Bool
	closers  []func() error // in the order they were opened
}

// Option changes what New builds; the defaults are what cmd/web runs.
type Option func(*options)

type options struct {
	namespace     string
	overrides     []func(*server.Deps)
	workerCommand func() *exec.Cmd
}

// HashWorkerCommand is how a bcrypt worker process is started with
// BCRYPT_WORKERS=process: a program that serves auth.ServeWorker when
// started with the argument auth.WorkerCommand (cmd/web passes
// auth.SelfCommand's). Without it New refuses that setting, rather than
// start a program that is not one (a test binary would run its tests).
func HashWorkerCommand(command func() *exec.Cmd) Option {
	return func(o *options) { o.workerCommand = command }
}

// RedisNamespace puts every key the app writes in Redis under ns instead
// of redisdb.DefaultNamespace. Tests give each app a namespace of its own.
func RedisNamespace(ns string) Option {
	return func(o *options) { o.namespace = ns }
}

// Override changes what the server is given, after New has made it and
// before the server is built: for tests only (session hooks that stop a
// request where a race happens, slots of their own, throttling counts in
// memory). What it replaces is still closed by Close.
func Override(f func(*server.Deps)) Option {
	return func(o *options) { o.overrides = append(o.overrides, f) }
}

// New builds the app from cfg. It logs to logger (nil: nowhere). On error
// whatever it had opened is closed again.
func New(ctx context.Context, cfg config.Config, logger *slog.Logger, opts ...Option) (_ *App, err error) {
	o := options{namespace: redisdb.DefaultNamespace}
	for _, opt := range opts {
		opt(&o)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	a := &App{Config: cfg}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()

	db, applied, err := OpenDatabase(ctx, cfg)
	if err != nil {
		return nil, err
	}
	a.DB = db
	a.closers = append(a.closers, db.Close)
	if len(applied) > 0 {
		logger.Info("migrations applied", "dialect", db.Dialect, "migrations", applied)
	}

	store, counters, err := sessionStore(cfg, db, logger, o.namespace)
	if err != nil {
		return nil, err
	}
	a.Store = store
	a.closers = append(a.closers, store.Close)

	if cfg.LabAttackerAddr != "" {
		// Replays leave from 127.0.0.2: to the app, another machine. The
		// app's address is filled in once it listens.
		a.Lab = attacker.New("", "", cfg.CookieName(), netip.MustParseAddr("127.0.0.2"))
	}

	slots, workers, err := hashing(cfg, o.workerCommand)
	if err != nil {
		return nil, err
	}
	if workers != nil {
		a.closers = append(a.closers, workers.Close)
	}

	deps := server.Deps{
		Config:           cfg,
		Logger:           logger,
		DB:               db,
		Store:            store,
		RateLimitCounter: counters,
		HashSlots:        slots,
		HashWorkers:      workers,
		Stopping:         a.stopping.Load,
		Lab:              a.Lab,
	}
	for _, f := range o.overrides {
		f(&deps)
	}
	if a.Handler, err = server.NewServer(deps); err != nil {
		return nil, err
	}
	return a, nil
}

// OpenDatabase opens DATABASE_URL and applies the migrations it has not
// had yet; applied names those applied now. The caller closes the database.
func OpenDatabase(ctx context.Context, cfg config.Config) (db *database.DB, applied []string, err error) {
	dialect, dsn := cfg.Database()
	if db, err = database.Open(ctx, dialect, dsn); err != nil {
		return nil, nil, err
	}
	if applied, err = db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, applied, nil
}

// sessionStore opens where sessions live, and returns the counter factory
// for the throttling counts: with REDIS_URL, sessions and counts share one
// pool in Redis (closed by the store's Close), so every replica sees the
// same; without it, sessions go to the SQL database and the counts stay in
// this process's memory (nil factory).
func sessionStore(cfg config.Config, db *database.DB, logger *slog.Logger, namespace string) (*session.Store, func(name string) httprate.LimitCounter, error) {
	if cfg.RedisURL == "" {
		store, err := session.NewSQLStore(db, logger)
		return store, nil, err
	}
	tlsConfig, err := redisTLSConfig(cfg.RedisCAFile)
	if err != nil {
		return nil, nil, err
	}
	pool := redisdb.NewPoolTLS(cfg.RedisURL, tlsConfig)
	return redisdb.NewSessionStore(pool, namespace), redisdb.LimitCounters(pool, namespace+"ratelimit:"), nil
}

// hashing makes the slots every bcrypt operation runs in:
// BCRYPT_CONCURRENCY at once, a request waiting at most BCRYPT_WAIT for
// one; and, with BCRYPT_WORKERS=process, as many worker processes, started
// on first use, BCRYPT_NICE steps nicer than the server, each operation
// bounded by REQUEST_TIMEOUT. This is the one place they are made;
// server.NewServer requires the slots.
func hashing(cfg config.Config, command func() *exec.Cmd) (*auth.HashSlots, *auth.Workers, error) {
	if cfg.BcryptWorkers != config.BcryptInProcesses {
		return auth.NewHashSlots(cfg.BcryptConcurrency, cfg.BcryptWait), nil, nil
	}
	if command == nil {
		return nil, nil, errors.New("BCRYPT_WORKERS=process: no worker command (assembly.HashWorkerCommand)")
	}
	workers := auth.NewWorkers(cfg.BcryptConcurrency, command, auth.WorkerOptions{Nice: cfg.BcryptNice, MaxTime: cfg.RequestTimeout})
	return auth.NewHashSlots(cfg.BcryptConcurrency, cfg.BcryptWait, auth.InWorkerProcesses()), workers, nil
}

// ReportStopping makes /healthz answer 503 from now on while every other
// page is still served, so a proxy's health check takes this process out
// of rotation before its listener closes (SHUTDOWN_DELAY).
func (a *App) ReportStopping() { a.stopping.Store(true) }

// Close closes the session store, then the database (the reverse of the
// order New opened them). Call it once, after the server has stopped.
func (a *App) Close() error {
	var errs []error
	for i := len(a.closers) - 1; i >= 0; i-- {
		errs = append(errs, a.closers[i]())
	}
	a.closers = nil
	return errors.Join(errs...)
}
