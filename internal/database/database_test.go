package database_test

import (
	"context"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"

	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/testenv"
	"github.com/sessionlab/sessionlab/migrations"
)

// openUnmigrated opens an empty database of each dialect, as a fresh
// deployment would find it.
func openUnmigrated(t *testing.T, dialect string) *database.DB {
	t.Helper()
	var dsn string
	switch dialect {
	case database.DialectSQLite:
		dsn = filepath.Join(t.TempDir(), "sessionlab.db")
	case database.DialectPostgres:
		dsn = testenv.PostgresURL(t)
	}
	db, err := database.Open(t.Context(), dialect, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

var dialects = []string{database.DialectSQLite, database.DialectPostgres}

func TestMigrate_AppliesEveryMigrationOnceThenNothing(t *testing.T) {
	for _, dialect := range dialects {
		t.Run(dialect, func(t *testing.T) {
			db := openUnmigrated(t, dialect)

			got, err := db.Migrate(t.Context())
			if err != nil {
				t.Fatalf("first Migrate: %v", err)
			}
			want := embeddedMigrations(t, dialect)
			if len(want) < 3 {
				t.Fatalf("only %d embedded migrations for %s", len(want), dialect)
			}
			if !slices.Equal(got, want) {
				t.Errorf("first Migrate applied %q, want %q", got, want)
			}

			got, err = db.Migrate(t.Context())
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if len(got) != 0 {
				t.Errorf("second Migrate applied %q, want nothing", got)
			}

			for _, table := range []string{"users", "sessions", "user_sessions"} {
				var n int
				if err := db.SQL.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
					t.Errorf("table %s after Migrate: %v", table, err)
				}
			}
		})
	}
}

func TestMigrate_ConcurrentStartsOnPostgresAllSucceed(t *testing.T) {
	// Replicas starting together: one migrates, the others wait on the
	// advisory lock and find nothing to do.
	url := testenv.PostgresURL(t)
	const replicas = 4
	applied := make([][]string, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() {
			db, err := database.Open(t.Context(), database.DialectPostgres, url)
			if err != nil {
				errs[i] = err
				return
			}
			defer db.Close()
			applied[i], errs[i] = db.Migrate(t.Context())
		})
	}
	wg.Wait()
	total := 0
	for i := range replicas {
		if errs[i] != nil {
			t.Errorf("replica %d: Migrate: %v", i, errs[i])
		}
		total += len(applied[i])
	}
	if got, want := total, len(embeddedMigrations(t, database.DialectPostgres)); got != want {
		t.Errorf("migrations applied across replicas = %d, want %d (each exactly once)", got, want)
	}
}

func TestMigrate_SessionsTableFitsTheSCSStores(t *testing.T) {
	type store interface {
		Commit(token string, b []byte, expiry time.Time) error
		Find(token string) ([]byte, bool, error)
	}
	stores := map[string]func(*database.DB) store{
		// A zero cleanup interval starts no background goroutine.
		database.DialectSQLite: func(db *database.DB) store {
			return sqlite3store.NewWithCleanupInterval(db.SQL, 0)
		},
		database.DialectPostgres: func(db *database.DB) store {
			return postgresstore.NewWithCleanupInterval(db.SQL, 0)
		},
	}
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		s := stores[db.Dialect](db)
		if err := s.Commit("token-1", []byte("data"), time.Now().Add(time.Hour)); err != nil {
			t.Fatalf("Commit: %v", err)
		}
		got, found, err := s.Find("token-1")
		if err != nil || !found || string(got) != "data" {
			t.Errorf("Find = %q, %v, %v; want \"data\", true, nil", got, found, err)
		}
	})
}

func TestOpen_SQLiteCreatesMissingParentDirectoryOwnerOnly(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "sessionlab.db")

	db, err := database.Open(t.Context(), database.DialectSQLite, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()

	info, err := os.Stat(dir)
	if err != nil {
		t.Fatalf("parent directory: %v", err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o700); got != want {
		t.Errorf("parent directory mode = %v, want %v", got, want)
	}
	info, err = os.Stat(path)
	if err != nil {
		t.Fatalf("database file: %v", err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("database file mode = %v, want %v", got, want)
	}
}

func TestOpen_SQLitePathWithURICharactersIsTakenLiterally(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd?name#with%25.db")
	db, err := database.Open(t.Context(), database.DialectSQLite, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if _, err := db.SQL.ExecContext(t.Context(), "CREATE TABLE t (x)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database file not at the given path: %v", err)
	}
}

func TestOpen_SQLiteConnectionsUseWALAndWaitForLocks(t *testing.T) {
	db := testenv.SQLite(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal",
		"busy_timeout": "2000",
		"foreign_keys": "1",
		"synchronous":  "1", // NORMAL
	} {
		var got string
		if err := db.SQL.QueryRowContext(t.Context(), "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatalf("PRAGMA %s: %v", pragma, err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %q, want %q", pragma, got, want)
		}
	}
}

func TestOpen_SQLiteConcurrentWritersNeverGetBusy(t *testing.T) {
	db := testenv.SQLite(t)
	const writers, perWriter = 20, 20

	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				// Read, then write, in one transaction: the shape that fails
				// at once with SQLITE_BUSY under deferred transactions.
				errs <- func() error {
					tx, err := db.SQL.BeginTx(t.Context(), nil)
					if err != nil {
						return err
					}
					defer tx.Rollback()
					var n int
					if err := tx.QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil {
						return err
					}
					email := strings.Repeat("w", w+1) + "@" + strings.Repeat("i", i+1) + ".test"
					if _, err := tx.Exec("INSERT INTO users (email, password_hash) VALUES (?, 'x')", email); err != nil {
						return err
					}
					return tx.Commit()
				}()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent write: %v", err)
		}
	}
	var got int
	if err := db.SQL.QueryRowContext(t.Context(), "SELECT count(*) FROM users").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if want := writers * perWriter; got != want {
		t.Errorf("rows = %d, want %d", got, want)
	}
}

func TestOpen_PostgresErrorsNeverShowThePassword(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	tests := map[string]string{
		"unreachable server":    "postgres://postgres:" + secret + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2",
		"invalid parameter":     "postgres://postgres:" + secret + "@127.0.0.1:5432/test?sslmode=bogus",
		"password in the query": "postgres://postgres@127.0.0.1:1/test?sslmode=disable&connect_timeout=2&password=" + secret,
		"unparseable URL":       "postgres://postgres:" + secret + "@127.0.0.1:port/test",
		"keyword/value string":  "host=127.0.0.1 port=1 user=postgres password=" + secret,
	}
	for name, dsn := range tests {
		t.Run(name, func(t *testing.T) {
			db, err := database.Open(t.Context(), database.DialectPostgres, dsn)
			if err == nil {
				db.Close()
				t.Fatal("Open succeeded, want an error")
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error shows the password: %v", err)
			}
			t.Logf("error: %v", err)
		})
	}
}

func TestOpen_UnknownDialectIsRefused(t *testing.T) {
	_, err := database.Open(t.Context(), "mysql", "root@/db")
	if err == nil {
		t.Fatal("Open(mysql) succeeded, want an error")
	}
}

func TestPing_FailsAfterClose(t *testing.T) {
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		if err := db.Ping(t.Context()); err != nil {
			t.Fatalf("Ping on open database: %v", err)
		}
		db.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		if err := db.Ping(ctx); err == nil {
			t.Error("Ping after Close succeeded, want an error")
		}
	})
}

func TestRebind_NumbersPlaceholdersForPostgresOnlyOutsideQuotes(t *testing.T) {
	tests := []struct {
		dialect, query, want string
	}{
		{database.DialectSQLite, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = ? AND b = ?"},
		{database.DialectPostgres, "SELECT * FROM t WHERE a = ? AND b = ?", "SELECT * FROM t WHERE a = $1 AND b = $2"},
		{database.DialectPostgres, "INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES ($1, $2, $3)"},
		{database.DialectPostgres, "SELECT '?', \"a?\" FROM t WHERE x = ? AND y = 'it''s?'", "SELECT '?', \"a?\" FROM t WHERE x = $1 AND y = 'it''s?'"},
		{database.DialectPostgres, "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		db := &database.DB{Dialect: tt.dialect}
		if got := db.Rebind(tt.query); got != tt.want {
			t.Errorf("%s Rebind(%q) = %q, want %q", tt.dialect, tt.query, got, tt.want)
		}
	}
}

func TestMigrate_ErrorsAreWrapped(t *testing.T) {
	db := testenv.SQLite(t)
	db.Close()
	_, err := db.Migrate(t.Context())
	if err == nil {
		t.Fatal("Migrate on a closed database succeeded")
	}
	if !strings.HasPrefix(err.Error(), "migrate sqlite: ") {
		t.Errorf("error = %q, want it to start with %q", err, "migrate sqlite: ")
	}
}

// embeddedMigrations lists the migration files shipped for dialect, in order.
func embeddedMigrations(t *testing.T, dialect string) []string {
	t.Helper()
	names, err := fs.Glob(migrations.FS, dialect+"/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range names {
		names[i] = path.Base(n)
	}
	return names
}
