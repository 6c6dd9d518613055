// Package migrations holds the SQL schema of Session Lab, one folder per
// dialect (sqlite, postgres), as goose migrations embedded in the binary so
// that the program can migrate its own database at start-up.
//
// The two folders must describe the same schema. The sessions tables are
// exactly the schemas the scs sqlite3store and postgresstore expect.
package migrations

import "embed"

// FS holds every migration; use fs.Sub(FS, dialect) to get one dialect's
// folder.
//
//go:embed sqlite/*.sql postgres/*.sql
var FS embed.FS
