package assembly_test

import (
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/assembly"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

func defaults(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	// bcrypt in this process: a test binary is no worker (cmd/web's tests and
	// the built binary's run it in worker processes, the default).
	cfg.BcryptWorkers = config.BcryptInThreads
	cfg.DatabaseURL = "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	return cfg
}

// The store is the one the configuration names: SQLite by default,
// PostgreSQL for a postgres:// DATABASE_URL, Redis with REDIS_URL (users
// stay in SQL). The app is ready on it, and Close releases the database
// and the store.
func TestNew_OpensTheStoresTheConfigurationNames(t *testing.T) {
	for _, tc := range []struct {
		name, dialect, store string
		setup                func(t *testing.T, cfg *config.Config) []assembly.Option
	}{
		{"default", "sqlite", "sqlite", func(*testing.T, *config.Config) []assembly.Option { return nil }},
		{"postgres", "postgres", "postgres", func(t *testing.T, cfg *config.Config) []assembly.Option {
			cfg.DatabaseURL = testenv.PostgresURL(t)
			return nil
		}},
		{"redis", "sqlite", "redis", func(t *testing.T, cfg *config.Config) []assembly.Option {
			cfg.RedisURL = testenv.RedisURL(t)
			return []assembly.Option{assembly.RedisNamespace(testenv.RedisPrefix(t, cfg.RedisURL))}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := defaults(t)
			opts := tc.setup(t, &cfg)
			app, err := assembly.New(t.Context(), cfg, nil, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if app.DB.Dialect != tc.dialect || app.Store.Kind != tc.store {
				t.Errorf("database %s, sessions in %s; want %s and %s", app.DB.Dialect, app.Store.Kind, tc.dialect, tc.store)
			}
			ts := httptest.NewServer(app.Handler)
			res, err := ts.Client().Get(ts.URL + "/readyz")
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			ts.Close()
			if res.StatusCode != http.StatusOK {
				t.Errorf("GET /readyz: %d, want 200", res.StatusCode)
			}
			if app.Lab != nil {
				t.Error("the attack lab is on without LAB_ATTACKER_ADDR")
			}

			if err := app.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := app.DB.Ping(t.Context()); err == nil {
				t.Error("the database still answers after Close")
			}
			if tc.store == "redis" {
				if err := app.Store.Ping(t.Context()); err == nil {
					t.Error("the Redis pool still answers after Close")
				}
			}
		})
	}
}

// LAB_ATTACKER_ADDR turns the attack lab's other site on; its pages are
// the caller's to serve.
func TestNew_LabOnlyWhenConfigured(t *testing.T) {
	cfg := defaults(t)
	cfg.LabAttackerAddr = "127.0.0.1:0"
	app, err := assembly.New(t.Context(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	if app.Lab == nil {
		t.Fatal("no attack lab with LAB_ATTACKER_ADDR set")
	}
}

// BCRYPT_WORKERS=process, the default, needs to know how to start a
// worker: without assembly.HashWorkerCommand New refuses, saying what is
// missing, rather than start some program that is not one.
func TestNew_BcryptWorkersNeedTheCommandThatStartsThem(t *testing.T) {
	cfg := defaults(t)
	cfg.BcryptWorkers = config.BcryptInProcesses
	app, err := assembly.New(t.Context(), cfg, nil)
	if err == nil {
		app.Close()
		t.Fatal("New without a worker command succeeded, want it refused")
	}
	if want := "BCRYPT_WORKERS=process"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %s", err, want)
	}
	started := false
	app, err = assembly.New(t.Context(), cfg, nil, assembly.HashWorkerCommand(func() *exec.Cmd {
		started = true
		return exec.Command("false")
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Close(); err != nil {
		t.Fatal(err)
	}
	if started {
		t.Error("a worker was started before any password was hashed, want them started on first use")
	}
}
