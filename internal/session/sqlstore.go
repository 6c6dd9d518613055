package session

import (
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"time"

	"github.com/sessionlab/sessionlab/internal/database"
)

// sqlStore keeps sessions in the sessions table of the app's database
// (the schema of scs's sqlite3store and postgresstore). Unlike those, it
// never uses REPLACE/UPSERT to save a session this request loaded: that is
// an UPDATE, which does nothing when the row was deleted meanwhile.
type sqlStore struct {
	db *database.DB
	// live is the SQL condition for "not expired"; setExpiry turns a bound
	// parameter into the expiry column's type; getExpiry reads the column
	// as unix milliseconds.
	live, setExpiry, getExpiry string
	// expiryArg converts a time for that parameter.
	expiryArg func(time.Time) any
}

func newSQLStore(db *database.DB) (*sqlStore, error) {
	switch db.Dialect {
	case database.DialectSQLite:
		return &sqlStore{db: db,
			live:      "julianday('now') < expiry",
			setExpiry: "julianday(?)",
			getExpiry: "CAST((expiry - 2440587.5) * 86400000 AS INTEGER)",
			expiryArg: func(t time.Time) any { return t.UTC().Format("2006-01-02T15:04:05.999") },
		}, nil
	case database.DialectPostgres:
		return &sqlStore{db: db,
			live:      "current_timestamp < expiry",
			setExpiry: "?",
			getExpiry: "CAST(EXTRACT(EPOCH FROM expiry) * 1000 AS BIGINT)",
			expiryArg: func(t time.Time) any { return t.UTC() },
		}, nil
	}
	return nil, errors.New("session store: unknown dialect " + db.Dialect)
}

func (s *sqlStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	var b []byte
	var ms int64
	err := s.db.SQL.QueryRowContext(ctx, s.db.Rebind("SELECT data, "+s.getExpiry+" FROM sessions WHERE token = ? AND "+s.live), key).Scan(&b, &ms)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	markLoaded(ctx, key, b, time.UnixMilli(ms))
	return b, true, nil
}

func (s *sqlStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	if unchanged(ctx, key, b, expiry) {
		return nil
	}
	var q string
	args := []any{b, s.expiryArg(expiry), key}
	if wasLoaded(ctx, key) {
		// Never recreate a deleted session: see wasLoaded.
		q = "UPDATE sessions SET data = ?, expiry = " + s.setExpiry + " WHERE token = ?"
	} else {
		q = "INSERT INTO sessions (data, expiry, token) VALUES (?, " + s.setExpiry + ", ?) " +
			"ON CONFLICT (token) DO UPDATE SET data = excluded.data, expiry = excluded.expiry"
	}
	_, err := s.db.SQL.ExecContext(ctx, s.db.Rebind(q), args...)
	return err
}

func (s *sqlStore) DeleteCtx(ctx context.Context, key string) error {
	_, err := s.db.SQL.ExecContext(ctx, s.db.Rebind("DELETE FROM sessions WHERE token = ?"), key)
	return err
}

func (s *sqlStore) Find(key string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), key)
}
func (s *sqlStore) Commit(key string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), key, b, expiry)
}
func (s *sqlStore) Delete(key string) error { return s.DeleteCtx(context.Background(), key) }

// cleanup deletes expired sessions and the registry rows left without a
// live session. Expired rows are never loaded anyway; this reclaims space.
func (s *sqlStore) cleanup(ctx context.Context) error {
	if _, err := s.db.SQL.ExecContext(ctx, "DELETE FROM sessions WHERE NOT ("+s.live+")"); err != nil {
		return err
	}
	_, err := s.db.SQL.ExecContext(ctx, "DELETE FROM user_sessions WHERE NOT EXISTS (SELECT 1 FROM sessions s WHERE s.token = user_sessions.store_key)")
	return err
}

// runCleanup calls cleanup every interval until stop is closed.
func (s *sqlStore) runCleanup(interval time.Duration, stop <-chan struct{}, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.cleanup(ctx); err != nil && log != nil {
				log.Warn("session cleanup", "err", err)
			}
			cancel()
		}
	}
}
