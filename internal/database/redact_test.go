package database_test

import (
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/database"
)

// An Open error names the server by its URL, with the password masked as
// configuration errors mask it (config.Redact), wherever it was written.
func TestOpen_ErrorNamesTheServerByItsRedactedURL(t *testing.T) {
	const secret = "s3cr3t-Pa55"
	tests := map[string]string{
		"postgres://postgres:" + secret + "@127.0.0.1:1/test?sslmode=disable&connect_timeout=2":          "open postgres postgres://postgres:xxxxx@127.0.0.1:1/test?sslmode=disable&connect_timeout=2: ",
		"postgres://postgres@127.0.0.1:1/test?sslmode=disable&password=" + secret + "&connect_timeout=2": "open postgres postgres://postgres@127.0.0.1:1/test?sslmode=disable&password=xxxxx&connect_timeout=2: ",
	}
	for dsn, want := range tests {
		db, err := database.Open(t.Context(), database.DialectPostgres, dsn)
		if err == nil {
			db.Close()
			t.Fatal("Open succeeded, want an error")
		}
		if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), secret) {
			t.Errorf("error %q, want it to start %q and not show the password", err, want)
		}
	}
}
