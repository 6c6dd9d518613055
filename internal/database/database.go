package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	// Registers the "pgx" database/sql driver.
	_ "github.com/jackc/pgx/v5/stdlib"
	// Registers the "sqlite" database/sql driver.
	_ "modernc.org/sqlite"
)

// The dialects Open accepts, as returned by the configuration.
const (
	DialectSQLite   = "sqlite"
	DialectPostgres = "postgres"
)

// DB is an open, pinged database and the dialect its queries are written in.
type DB struct {
	SQL     *sql.DB
	Dialect string // DialectSQLite or DialectPostgres

	secrets []string // passwords of the DSN, scrubbed from error messages
}

// Open opens and pings the database. dialect and dsn are what the
// configuration returns: ("sqlite", "data/sessionlab.db") or
// ("postgres", "postgres://…").
func Open(ctx context.Context, dialect, dsn string) (*DB, error) {
	var (
		db      *sql.DB
		name    string // how error messages name the database
		secrets []string
		err     error
	)
	switch dialect {
	case DialectSQLite:
		name = dsn
		db, err = openSQLite(dsn)
	case DialectPostgres:
		secrets = passwords(dsn)
		name, db, err = openPostgres(dsn, secrets)
	default:
		return nil, fmt.Errorf("open database: unknown dialect %q (want %q or %q)", dialect, DialectSQLite, DialectPostgres)
	}
	if err != nil {
		return nil, err
	}
	// The drivers connect lazily: connection and configuration errors
	// (pgx parses the URL only now) surface here.
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s %s: %w", dialect, name, redactErr(err, secrets))
	}
	return &DB{SQL: db, Dialect: dialect, secrets: secrets}, nil
}

// sqlitePragmas are applied by the driver to every new connection, in the
// modernc.org/sqlite DSN syntax "_pragma=name(value)". The driver runs
// busy_timeout first, whatever the order here.
var sqlitePragmas = []string{
	// Wait up to 2 s for another connection's write lock instead of failing
	// at once with SQLITE_BUSY: two such waits (a login's) fit in the
	// default 5 s request deadline.
	"busy_timeout(2000)",
	// Write-ahead log: readers never block the writer and the writer never
	// blocks readers; only writers wait for each other.
	"journal_mode(WAL)",
	"foreign_keys(1)",
	// NORMAL is durable against application crashes in WAL mode; only a
	// power loss can lose the last transactions. Much faster than FULL.
	"synchronous(NORMAL)",
}

// sqliteDSN builds the URI form "file:PATH?_pragma=…&_txlock=immediate".
//
// _txlock=immediate makes every read-write transaction start with BEGIN
// IMMEDIATE, taking the write lock up front, where busy_timeout applies. A
// deferred transaction that reads and then writes would instead fail with
// SQLITE_BUSY immediately when another connection wrote in between: SQLite
// cannot wait for a lock that would leave the reader with a stale snapshot.
func sqliteDSN(path string) string {
	q := url.Values{}
	for _, p := range sqlitePragmas {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	// In a URI, '?' and '#' end the path and '%' starts an escape (SQLite
	// decodes %XX in the path), and a leading "//" starts a host name, which
	// Clean turns into "/".
	escaped := strings.NewReplacer("%", "%25", "?", "%3F", "#", "%23").Replace(filepath.Clean(path))
	return "file:" + escaped + "?" + q.Encode()
}

func openSQLite(path string) (*sql.DB, error) {
	if path == "" {
		return nil, errors.New("open sqlite: empty path")
	}
	// An existing directory keeps its mode: that is the operator's choice.
	// SECURITY(storage): the database holds password hashes and session
	// data; only the service account may list or read it — CWE-732.
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite %s: create directory: %w", path, err)
	}
	// SQLite gives the -wal and -shm files the same mode as the database.
	// SECURITY(storage): the file is created owner-only before SQLite would
	// create it with the umask's default, usually world-readable — CWE-732.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()

	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// SQLite allows one writer at a time: many connections only add
	// contention on the write lock. A small pool still lets readers run
	// beside the writer in WAL mode. Connections are kept, because opening
	// one re-runs the pragmas.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// openPostgres returns the pool and the URL with its password redacted.
func openPostgres(dsn string, secrets []string) (string, *sql.DB, error) {
	safe, err := redactedURL(dsn)
	if err == nil && !strings.HasPrefix(dsn, "postgres://") && !strings.HasPrefix(dsn, "postgresql://") {
		// A keyword/value string ("host=… password=…") would parse as a
		// relative URL and be quoted whole.
		err = errors.New("not a postgres:// URL")
	}
	if err != nil {
		// The URL cannot be parsed, so we cannot tell where a password in
		// it (or in the driver's message about it) starts and ends: say
		// nothing about its content.
		return "", nil, errors.New("open postgres: invalid URL (not shown: it may contain a password)")
	}
	dsn = withTimeouts(dsn)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return "", nil, fmt.Errorf("open postgres %s: %w", safe, redactErr(err, secrets))
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return safe, db, nil
}

// withTimeouts adds, unless the URL sets them, a connect timeout and a
// statement timeout to a postgres:// URL.
//
// SECURITY(fail-closed): a server that accepts connections but never
// answers would otherwise hold every request that needs it; with these and
// the request's deadline it is a 503 within seconds — ASVS 5.0 13.2.6,
// 16.5.3.
func withTimeouts(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return dsn
	}
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	if q.Get("statement_timeout") == "" {
		q.Set("statement_timeout", "5000") // milliseconds
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// Ping checks that the database answers (used by /readyz).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.SQL.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.Dialect, redactErr(err, db.secrets))
	}
	return nil
}

// Close closes the pool.
func (db *DB) Close() error {
	return db.SQL.Close()
}

// Rebind turns the "?" placeholders of query into "$1".."$n" for PostgreSQL
// and returns query unchanged for SQLite. Question marks inside '…' string
// literals and "…" identifiers are left alone.
func (db *DB) Rebind(query string) string {
	if db.Dialect != DialectPostgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte // the quote character we are inside of, or 0
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			// A doubled quote ('' or "") closes and reopens: same result.
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
