package session

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"

	"github.com/sessionlab/sessionlab/internal/database"
)

// sqlCleanupInterval is how often expired rows are deleted: sessions (by
// the stock store's own cleanup), tombstones and registry rows left
// without a live session (here). Expired rows are never loaded anyway;
// the cleanup only reclaims space.
const sqlCleanupInterval = 5 * time.Minute

// NewSQLStore keeps sessions in the sessions table of the app's database
// through scs's own sqlite3store or postgresstore, unmodified, behind the
// revocation guard; tombstones in session_tombstones and the registry in
// user_sessions. The database itself is closed by its owner, not by
// Store.Close.
func NewSQLStore(db *database.DB, log *slog.Logger) (*Store, error) {
	var (
		stock   scs.Store
		stop    func()
		live    string // SQL condition for "this sessions row has not expired"
		dialect = db.Dialect
	)
	switch dialect {
	case database.DialectSQLite:
		s := sqlite3store.NewWithCleanupInterval(db.SQL, sqlCleanupInterval)
		stock, stop, live = s, s.StopCleanup, "julianday('now') < expiry"
	case database.DialectPostgres:
		s := postgresstore.NewWithCleanupInterval(db.SQL, sqlCleanupInterval)
		stock, stop, live = s, s.StopCleanup, "current_timestamp < expiry"
	default:
		return nil, errors.New("session store: unknown dialect " + dialect)
	}
	marks := &sqlTombstones{db: db}
	reg := &sqlRegistry{db: db, live: live}
	done := make(chan struct{})
	go runCleanup(sqlCleanupInterval, done, log, func(ctx context.Context) error {
		if err := marks.cleanup(ctx); err != nil {
			return err
		}
		return reg.cleanup(ctx)
	})
	// Milliseconds the sessions row has left, in each dialect's own terms.
	ttlQuery := map[string]string{
		database.DialectSQLite:   "SELECT CAST((expiry - julianday('now')) * 86400000.0 AS INTEGER) FROM sessions WHERE token = ?",
		database.DialectPostgres: "SELECT CAST(EXTRACT(EPOCH FROM (expiry - current_timestamp)) * 1000 AS BIGINT) FROM sessions WHERE token = $1",
	}[dialect]
	var once sync.Once
	return NewStore(StoreParts{
		Kind:        dialect,
		Sessions:    stock,
		Connections: db.SQL.Stats().MaxOpenConnections,
		Tombstones:  marks,
		Registry:    reg,
		Ping:        db.Ping,
		Close: func() error {
			once.Do(func() { close(done); stop() })
			return nil
		},
		Inspect: func(ctx context.Context, storeKey string) (string, time.Duration, bool, error) {
			name := "sessions row, token = " + storeKey
			var ms int64
			switch err := db.SQL.QueryRowContext(ctx, ttlQuery, storeKey).Scan(&ms); {
			case errors.Is(err, sql.ErrNoRows):
				return name, 0, false, nil
			case err != nil:
				return name, 0, false, fmt.Errorf("session expiry: %w", err)
			}
			return name, time.Duration(ms) * time.Millisecond, true, nil
		},
	}), nil
}

// sqlTombstones keeps tombstones in session_tombstones, with their expiry
// in unix milliseconds.
type sqlTombstones struct{ db *database.DB }

func (t *sqlTombstones) Mark(ctx context.Context, ttl time.Duration, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	until := time.Now().Add(ttl).UnixMilli()
	args := make([]any, 0, 2*len(names))
	for _, n := range names {
		args = append(args, n, until)
	}
	q := "INSERT INTO session_tombstones (name, expiry) VALUES (?, ?)" + strings.Repeat(", (?, ?)", len(names)-1) +
		" ON CONFLICT (name) DO UPDATE SET expiry = excluded.expiry"
	if _, err := t.db.SQL.ExecContext(ctx, t.db.Rebind(q), args...); err != nil {
		return fmt.Errorf("session tombstone: %w", err)
	}
	return nil
}

func (t *sqlTombstones) AnyMarked(ctx context.Context, names ...string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	args := []any{time.Now().UnixMilli()}
	for _, n := range names {
		args = append(args, n)
	}
	q := "SELECT count(*) FROM session_tombstones WHERE expiry > ? AND name IN (?" + strings.Repeat(", ?", len(names)-1) + ")"
	var n int
	if err := t.db.SQL.QueryRowContext(ctx, t.db.Rebind(q), args...).Scan(&n); err != nil {
		return false, fmt.Errorf("session tombstone check: %w", err)
	}
	return n > 0, nil
}

func (t *sqlTombstones) cleanup(ctx context.Context) error {
	_, err := t.db.SQL.ExecContext(ctx, t.db.Rebind("DELETE FROM session_tombstones WHERE expiry <= ?"), time.Now().UnixMilli())
	return err
}

// runCleanup calls clean every interval until done is closed.
func runCleanup(interval time.Duration, done <-chan struct{}, log *slog.Logger, clean func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := clean(ctx); err != nil && log != nil {
				log.Warn("session cleanup", "err", err)
			}
			cancel()
		}
	}
}
