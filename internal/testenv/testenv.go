// Package testenv gives every package's tests the real services they run
// against: a migrated SQLite file (sqlite.go), a migrated PostgreSQL schema
// of their own (postgres.go), Redis under a key prefix of their own
// (redis.go; when nothing answers there outside CI, a redis-server started
// for the test binary), a private redis-server they can stop and start, with
// TLS and ACL users when asked (redisserver.go, its CA from testca.go), and a TCP
// proxy that can hang like a stuck server (proxy.go); and the fixtures
// (fixtures.go): fresh users, made-up tokens, a log buffer.
//
// Tests never mock a database. A service that is not running skips the test
// on a developer's machine and fails it in CI (CI=true), so that a missing
// service can never turn a CI run green by skipping. Each skip's reason is
// also appended to the file named by SkipsFileEnv, from which `make test`
// prints one summary line.
package testenv

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/database"
)

// SkipsFileEnv names the environment variable holding the file Unavailable
// appends to, one line per skip: "skip", the service and the reason,
// separated by tabs. A substitute (a redis-server of the tests' own) is a
// "note" line. `make test` sets it and prints the lines, deduplicated.
const SkipsFileEnv = "TESTENV_SKIPS"

// inCI reports whether a missing service must fail the test.
func inCI() bool { return os.Getenv("CI") == "true" }

// Unavailable reports that service cannot be reached: a fatal error when
// the CI environment variable is "true", a skip otherwise, on one line
// either way, with its reason recorded for the summary (SkipsFileEnv).
func Unavailable(tb testing.TB, service string, err error) {
	tb.Helper()
	unavailable(tb, service, reasonFor(err), err)
}

func unavailable(tb testing.TB, service, reason string, err error) {
	tb.Helper()
	if inCI() {
		tb.Fatalf("%s is required in CI but unavailable: %s", service, oneLine(err))
		return
	}
	detail := oneLine(err)
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		// Enough to say why: pgx repeats it once per address it tried.
		detail = oneLine(op)
	}
	record("skip", service, reason)
	if detail == reason {
		tb.Skipf("skipping: %s unavailable: %s", service, reason)
	} else {
		tb.Skipf("skipping: %s %s (%s)", service, reason, detail)
	}
}

// reasonFor says briefly why a service is missing, for the summary: "not
// reachable at 127.0.0.1:5432", "not installed", or the error on one line.
func reasonFor(err error) string {
	var op *net.OpError
	var pathErr *fs.PathError
	switch {
	case errors.As(err, &op) && op.Op == "dial" && op.Addr != nil:
		return "not reachable at " + op.Addr.String()
	case errors.Is(err, exec.ErrNotFound):
		return "not installed"
	case errors.As(err, &pathErr) && errors.Is(err, fs.ErrNotExist):
		return "not found at " + pathErr.Path
	}
	return oneLine(err)
}

// oneLine is err's message with its line breaks and indentation folded.
func oneLine(err error) string {
	if err == nil {
		return "unknown error"
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// record appends one summary line to the file named by SkipsFileEnv, if
// any. Test binaries of several packages append at once: each line is
// one write on a file opened for appending.
func record(kind, service, reason string) {
	path := os.Getenv(SkipsFileEnv)
	if path == "" {
		return
	}
	clean := func(s string) string { return strings.Join(strings.Fields(s), " ") } // no tab or newline
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %s: %v\n", SkipsFileEnv, err)
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "%s\t%s\t%s\n", kind, clean(service), clean(reason))
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
