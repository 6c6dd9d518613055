package testenv_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

func TestPostgresURL_ConnectionsUseTheTestSchemaWhichIsDroppedAfterCleanup(t *testing.T) {
	admin := openAdmin(t) // first: without PostgreSQL the whole test skips
	var schema string
	t.Run("use", func(t *testing.T) {
		u := testenv.PostgresURL(t)
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		schema = parsed.Query().Get("search_path")

		db, err := database.Open(t.Context(), database.DialectPostgres, u)
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		defer db.Close()
		// Hold two connections at once so that the check covers more than
		// the first connection of the pool.
		for i := range 2 {
			conn, err := db.SQL.Conn(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var got string
			if err := conn.QueryRowContext(t.Context(), "SELECT current_schema()").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != schema {
				t.Errorf("connection %d: current_schema() = %q, want %q", i, got, schema)
			}
		}
		if _, err := db.SQL.ExecContext(t.Context(), "CREATE TABLE leftover (x int)"); err != nil {
			t.Fatal(err)
		}
	})
	if schema == "" {
		t.Fatal("subtest did not get a schema")
	}

	var exists bool
	err := admin.SQL.QueryRowContext(t.Context(),
		"SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("schema %s still exists after the subtest ended", schema)
	}
}

func TestPostgres_IsMigrated(t *testing.T) {
	db := testenv.Postgres(t)
	assertTablesExist(t, db)
	if applied, err := db.Migrate(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("Migrate = %q, %v; want nothing left to apply", applied, err)
	}
}

func TestSQLite_IsMigrated(t *testing.T) {
	db := testenv.SQLite(t)
	assertTablesExist(t, db)
	if applied, err := db.Migrate(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("Migrate = %q, %v; want nothing left to apply", applied, err)
	}
}

func TestEachDatabase_RunsOnBothDialects(t *testing.T) {
	openAdmin(t) // both or nothing: without PostgreSQL the whole test skips
	var got []string
	testenv.EachDatabase(t, func(t *testing.T, db *database.DB) {
		got = append(got, db.Dialect)
		if want := t.Name(); want != "TestEachDatabase_RunsOnBothDialects/"+db.Dialect {
			t.Errorf("subtest name = %q for dialect %q", want, db.Dialect)
		}
	})
	if want := fmt.Sprint([]string{"sqlite", "postgres"}); fmt.Sprint(got) != want {
		t.Errorf("dialects run = %v, want %v", got, want)
	}
}

// recorder stands in for a test to observe what Unavailable does.
type recorder struct {
	testing.TB
	fatal, skip string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = fmt.Sprintf(format, args...)
}
func (r *recorder) Skipf(format string, args ...any) {
	r.skip = fmt.Sprintf(format, args...)
}

func TestUnavailable_FailsInCIAndSkipsElsewhere(t *testing.T) {
	down := errors.New("connection refused")
	skips := filepath.Join(t.TempDir(), "skips")
	t.Setenv(testenv.SkipsFileEnv, skips)

	t.Setenv("CI", "true")
	r := &recorder{TB: t}
	testenv.Unavailable(r, "PostgreSQL", down)
	if want := "PostgreSQL is required in CI but unavailable: connection refused"; r.fatal != want || r.skip != "" {
		t.Errorf("in CI: fatal %q, skip %q; want fatal %q", r.fatal, r.skip, want)
	}
	if got := readFile(t, skips); got != "" {
		t.Errorf("in CI the summary file holds %q, want nothing (nothing skipped)", got)
	}

	t.Setenv("CI", "")
	r = &recorder{TB: t}
	testenv.Unavailable(r, "PostgreSQL", down)
	if want := "skipping: PostgreSQL unavailable: connection refused"; r.skip != want || r.fatal != "" {
		t.Errorf("outside CI: skip %q, fatal %q; want skip %q", r.skip, r.fatal, want)
	}
	// What a driver says about a closed port, over several lines as pgx
	// does: one line, and the address as the reason.
	closed := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1},
		Err: errors.New("connect: connection refused")}
	r = &recorder{TB: t}
	testenv.Unavailable(r, "Redis", fmt.Errorf("failed to connect:\n\t%w\n\t%w", closed, closed))
	if want := "skipping: Redis not reachable at 127.0.0.1:1 (dial tcp 127.0.0.1:1: connect: connection refused)"; r.skip != want {
		t.Errorf("skip %q, want %q", r.skip, want)
	}
	if got, want := readFile(t, skips), "skip\tPostgreSQL\tconnection refused\nskip\tRedis\tnot reachable at 127.0.0.1:1\n"; got != want {
		t.Errorf("summary file %q, want %q", got, want)
	}
}

func assertTablesExist(t *testing.T, db *database.DB) {
	t.Helper()
	for _, table := range []string{"users", "sessions"} {
		var n int
		if err := db.SQL.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
			t.Errorf("table %s: %v", table, err)
		}
	}
}

func openAdmin(t *testing.T) *database.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = testenv.DefaultPostgresURL
	}
	db, err := database.Open(ctx, database.DialectPostgres, base)
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
		return nil
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return string(b)
}

// A ClosedPort refuses connections, and nothing else can bind it until the
// test ends, so a child told that nothing answers there is told the truth.
func TestClosedPort_RefusesAndCannotBeTakenMeanwhile(t *testing.T) {
	port := testenv.ClosedPort(t)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Fatalf("dial %s succeeded, want it refused", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want connection refused", addr, err)
	}
	if ln, err := net.Listen("tcp", addr); err == nil {
		ln.Close()
		t.Fatalf("listening on %s succeeded, want the port held", addr)
	}
}
