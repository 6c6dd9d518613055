package users

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/sessionlab/sessionlab/internal/database"
)

// Repository reads and writes users. It is safe for concurrent use.
type Repository struct {
	db *database.DB

	// byID is ByID's query, prepared once: it runs on every signed-in
	// request, and parsing SQL each time costs more than running it.
	prepare sync.Once
	byID    *sql.Stmt
}

// NewRepository returns a Repository over db, which must be migrated.
func NewRepository(db *database.DB) *Repository {
	return &Repository{db: db}
}

const userColumns = "id, email, password_hash, created_at, credential_generation"

// Create registers a user with the normalized email and returns it with its
// id and creation time. An email already registered, in any case or
// spacing, gives ErrEmailTaken.
func (r *Repository) Create(ctx context.Context, email string, passwordHash []byte) (User, error) {
	u := User{Email: NormalizeEmail(email), PasswordHash: passwordHash}
	var created timestamp
	err := r.db.SQL.QueryRowContext(ctx,
		r.db.Rebind("INSERT INTO users (email, password_hash) VALUES (?, ?) RETURNING id, created_at"),
		u.Email, string(passwordHash),
	).Scan(&u.ID, &created)
	if isUniqueViolation(err) {
		// The unique index decides, not a prior SELECT: two sign-ups racing
		// for one address cannot both succeed.
		return User{}, ErrEmailTaken
	}
	if err != nil {
		return User{}, fmt.Errorf("users: create: %w", err)
	}
	u.CreatedAt = created.Time
	return u, nil
}

// ByEmail returns the user with the normalized email, or ErrNotFound.
func (r *Repository) ByEmail(ctx context.Context, email string) (User, error) {
	u, err := r.scanOne(ctx, "SELECT "+userColumns+" FROM users WHERE email = ?", NormalizeEmail(email))
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("users: by email: %w", err)
	}
	return u, err
}

// ByID returns the user with id, or ErrNotFound.
func (r *Repository) ByID(ctx context.Context, id int64) (User, error) {
	const q = "SELECT " + userColumns + " FROM users WHERE id = ?"
	r.prepare.Do(func() {
		// Without a statement (the database was down at the first call),
		// ByID falls back to a plain query.
		r.byID, _ = r.db.SQL.PrepareContext(context.WithoutCancel(ctx), r.db.Rebind(q))
	})
	var row *sql.Row
	if r.byID != nil {
		row = r.byID.QueryRowContext(ctx, id)
	} else {
		row = r.db.SQL.QueryRowContext(ctx, r.db.Rebind(q), id)
	}
	u, err := scanUser(row)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("users: by id: %w", err)
	}
	return u, err
}

// UpdatePasswordHash replaces the password hash of user id with a rehash
// of the same password (its generation stays), or returns ErrNotFound.
func (r *Repository) UpdatePasswordHash(ctx context.Context, id int64, hash []byte) error {
	res, err := r.db.SQL.ExecContext(ctx,
		r.db.Rebind("UPDATE users SET password_hash = ? WHERE id = ?"), string(hash), id)
	if err != nil {
		return fmt.Errorf("users: update password hash: %w", err)
	}
	return oneRow(res, "update password hash")
}

// ChangePassword replaces the password hash of user id with newHash and
// bumps its generation — only while the stored hash is still oldHash, the
// one the caller checked the current password against. Otherwise it
// returns ErrChanged (another change won) or ErrNotFound.
//
// SECURITY(revocation): compare-and-set, so two concurrent changes cannot
// both report success while only one password works — ASVS 5.0 15.4.2.
func (r *Repository) ChangePassword(ctx context.Context, id int64, oldHash, newHash []byte) (generation int64, err error) {
	err = r.db.SQL.QueryRowContext(ctx, r.db.Rebind(
		`UPDATE users SET password_hash = ?, credential_generation = credential_generation + 1
		 WHERE id = ? AND password_hash = ? RETURNING credential_generation`),
		string(newHash), id, string(oldHash)).Scan(&generation)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := r.ByID(ctx, id); err != nil {
			return 0, err
		}
		return 0, ErrChanged
	}
	if err != nil {
		return 0, fmt.Errorf("users: change password: %w", err)
	}
	return generation, nil
}

// BumpGeneration ends the validity of every session authenticated so far
// (used before an account is deleted), or returns ErrNotFound.
func (r *Repository) BumpGeneration(ctx context.Context, id int64) error {
	res, err := r.db.SQL.ExecContext(ctx,
		r.db.Rebind("UPDATE users SET credential_generation = credential_generation + 1 WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("users: bump generation: %w", err)
	}
	return oneRow(res, "bump generation")
}

// Delete removes user id, or returns ErrNotFound. Ending the user's sessions
// is the caller's job (package session).
func (r *Repository) Delete(ctx context.Context, id int64) error {
	res, err := r.db.SQL.ExecContext(ctx, r.db.Rebind("DELETE FROM users WHERE id = ?"), id)
	if err != nil {
		return fmt.Errorf("users: delete: %w", err)
	}
	return oneRow(res, "delete")
}

// Count returns the number of users.
func (r *Repository) Count(ctx context.Context) (int, error) {
	var n int
	if err := r.db.SQL.QueryRowContext(ctx, "SELECT count(*) FROM users").Scan(&n); err != nil {
		return 0, fmt.Errorf("users: count: %w", err)
	}
	return n, nil
}

func (r *Repository) scanOne(ctx context.Context, query string, arg any) (User, error) {
	return scanUser(r.db.SQL.QueryRowContext(ctx, r.db.Rebind(query), arg))
}

func scanUser(row *sql.Row) (User, error) {
	var (
		u       User
		created timestamp
	)
	err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &created, &u.Generation)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, ErrNotFound
	}
	if err != nil {
		return User{}, err
	}
	u.CreatedAt = created.Time
	return u, nil
}

func oneRow(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("users: %s: %w", op, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// isUniqueViolation reports whether err is a UNIQUE constraint failure in
// either driver. The users table has one unique column besides its
// generated id: the email.
func isUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	if sqliteErr, ok := errors.AsType[*sqlite.Error](err); ok {
		return sqliteErr.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok {
		return pgErr.Code == "23505" // unique_violation
	}
	return false
}

// timestamp scans created_at from either dialect: TIMESTAMPTZ arrives as a
// time.Time from pgx; SQLite stores RFC 3339 text (see the migration).
type timestamp struct{ time.Time }

func (t *timestamp) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	default:
		return fmt.Errorf("scan timestamp: unsupported type %T", src)
	}
}

func (t *timestamp) parse(s string) error {
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("scan timestamp: %w", err)
	}
	t.Time = parsed.UTC()
	return nil
}
