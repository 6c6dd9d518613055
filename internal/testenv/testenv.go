// Package testenv gives every package's tests the real services they run
// against: a migrated SQLite file (sqlite.go), a migrated PostgreSQL schema
// of their own (postgres.go), Redis under a key prefix of their own
// (redis.go), a private redis-server they can stop and start, with TLS and
// ACL users when asked (redisserver.go, its CA from testca.go), and a TCP
// proxy that can hang like a stuck server (proxy.go); and the fixtures
// (fixtures.go): fresh users, made-up tokens, a log buffer.
//
// Tests never mock a database. A service that is not running skips the test
// on a developer's machine and fails it in CI (CI=true), so that a missing
// service can never turn a CI run green by skipping.
package testenv

import (
	"os"
	"testing"

	"github.com/sessionlab/sessionlab/internal/database"
)

// Unavailable reports that service cannot be reached: a fatal error when
// the CI environment variable is "true", a skip otherwise.
func Unavailable(tb testing.TB, service string, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is required in CI but unavailable: %v", service, err)
		return
	}
	tb.Skipf("skipping: %s not available: %v", service, err)
}

// EachDatabase runs fn as the subtests "sqlite" and "postgres", each with a
// fresh, migrated database of that dialect, closed when the subtest ends.
// The postgres subtest follows the rules of Unavailable.
func EachDatabase(t *testing.T, fn func(t *testing.T, db *database.DB)) {
	t.Helper()
	dbs := []struct {
		name string
		open func(testing.TB) *database.DB
	}{
		{database.DialectSQLite, SQLite},
		{database.DialectPostgres, Postgres},
	}
	for _, d := range dbs {
		t.Run(d.name, func(t *testing.T) {
			fn(t, d.open(t))
		})
	}
}
