package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/database"
)

// DefaultPostgresURL is used when TEST_DATABASE_URL is not set.
const DefaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL creates a schema of its own for tb in the test PostgreSQL
// database (TEST_DATABASE_URL, default DefaultPostgresURL) and returns a URL
// whose every connection works in that schema. The schema and all it holds
// are dropped when tb ends, so tests can run in parallel and leave nothing
// behind. An unreachable server is reported through Unavailable.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("TEST_DATABASE_URL")
	if base == "" {
		base = DefaultPostgresURL
	}
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEST_DATABASE_URL is not a URL")
	}

	ctx, cancel := context.WithTimeout(tb.Context(), 3*time.Second)
	defer cancel()
	// database.Open keeps any password in TEST_DATABASE_URL out of the
	// error message, and so out of the CI log.
	admin, err := database.Open(ctx, database.DialectPostgres, base)
	if err != nil {
		Unavailable(tb, "PostgreSQL", err)
		return ""
	}
	admin.SQL.SetMaxOpenConns(1) // only for CREATE and DROP SCHEMA

	// Lower-case hex: a valid identifier that needs no quoting.
	schema := "t_" + hex.EncodeToString(randomBytes(8))
	if _, err := admin.SQL.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		defer admin.Close()
		// tb.Context() is already cancelled when cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := admin.SQL.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})

	// pgx sends query parameters it does not know as run-time parameters in
	// the start-up message, so every connection of the pool starts with this
	// search_path: unqualified names (and goose's version table) resolve to
	// the test's schema.
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Postgres opens a migrated database in a schema of its own (see
// PostgresURL), closed before the schema is dropped when tb ends.
func Postgres(tb testing.TB) *database.DB {
	tb.Helper()
	return openMigrated(tb, database.DialectPostgres, PostgresURL(tb))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // never fails since Go 1.24
	return b
}
