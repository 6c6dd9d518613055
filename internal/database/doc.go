// Package database opens the SQL database that holds Session Lab's users and,
// by default, its sessions: SQLite (modernc.org/sqlite, pure Go) for the
// one-command local demo, or PostgreSQL (pgx through database/sql) when
// DATABASE_URL is a postgres URL.
//
// [Open] configures each driver for concurrent web traffic (SQLite in WAL
// mode with a busy timeout and immediate write transactions, in a file
// only its owner can read; a bounded pgx pool with connect and statement
// timeouts), and its errors never show the database password.
// [DB.Migrate] applies the embedded goose migrations of package
// migrations, under an advisory lock on PostgreSQL so that replicas may
// start at once. Repositories write their queries with "?" placeholders and
// pass them through [DB.Rebind], which is all that differs between the
// dialects.
package database
