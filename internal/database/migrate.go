package database

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/sessionlab/sessionlab/migrations"
)

// Migrate applies the embedded migrations of db's dialect that are not
// applied yet and returns their file names ("00001_users.sql"), empty when
// the schema was already current. It is safe to call at every start-up.
//
// On PostgreSQL several replicas may start at once: an advisory lock,
// scoped to the current schema, lets one of them migrate while the others
// wait, and then find nothing left to do.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	var gooseDialect goose.Dialect
	switch db.Dialect {
	case DialectSQLite:
		gooseDialect = goose.DialectSQLite3
	case DialectPostgres:
		gooseDialect = goose.DialectPostgres
	default:
		return nil, fmt.Errorf("migrate: unknown dialect %q", db.Dialect)
	}
	fsys, err := fs.Sub(migrations.FS, db.Dialect)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", db.Dialect, err)
	}
	opts := []goose.ProviderOption{
		// Only the embedded SQL files, never Go migrations some other
		// package might register globally.
		goose.WithDisableGlobalRegistry(true),
	}
	if db.Dialect == DialectPostgres {
		locker, err := db.migrationLocker(ctx)
		if err != nil {
			return nil, fmt.Errorf("migrate %s: %w", db.Dialect, err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	provider, err := goose.NewProvider(gooseDialect, db.SQL, fsys, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", db.Dialect, err)
	}
	results, err := provider.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate %s: %w", db.Dialect, redactErr(err, db.secrets))
	}
	applied := make([]string, 0, len(results))
	for _, r := range results {
		applied = append(applied, path.Base(r.Source.Path))
	}
	return applied, nil
}

// migrationLocker returns a PostgreSQL session advisory lock whose id is
// derived from the current schema. goose's default id is one per database,
// which would make migrations of unrelated schemas (one per test) wait for
// each other for no reason; the version table lives in the schema, so the
// schema is the right scope.
func (db *DB) migrationLocker(ctx context.Context) (lock.SessionLocker, error) {
	var schema sql.NullString
	if err := db.SQL.QueryRowContext(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return nil, fmt.Errorf("current schema: %w", redactErr(err, db.secrets))
	}
	h := fnv.New64a()
	h.Write([]byte("sessionlab/migrations:" + schema.String))
	return lock.NewPostgresSessionLocker(
		lock.WithLockID(int64(h.Sum64())),
		// Poll every second, for at most a minute.
		lock.WithLockTimeout(1, 60),
	)
}
