package testenv

import (
	"path/filepath"
	"testing"

	"github.com/sessionlab/sessionlab/internal/database"
)

// SQLite opens a new, migrated SQLite database file in a temporary
// directory of tb, closed when tb ends.
func SQLite(tb testing.TB) *database.DB {
	tb.Helper()
	return openMigrated(tb, database.DialectSQLite, filepath.Join(tb.TempDir(), "sessionlab.db"))
}

func openMigrated(tb testing.TB, dialect, dsn string) *database.DB {
	tb.Helper()
	db, err := database.Open(tb.Context(), dialect, dsn)
	if err != nil {
		tb.Fatalf("open %s test database: %v", dialect, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("close %s test database: %v", dialect, err)
		}
	})
	if _, err := db.Migrate(tb.Context()); err != nil {
		tb.Fatalf("migrate %s test database: %v", dialect, err)
	}
	return db
}
