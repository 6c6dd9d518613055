package users

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

var (
	// ErrEmailTaken is returned by Create when the (normalized) email
	// already belongs to a user.
	ErrEmailTaken = errors.New("users: email already registered")
	// ErrNotFound is returned when no user matches.
	ErrNotFound = errors.New("users: not found")
	// ErrChanged is returned by ChangePassword when the stored hash is no
	// longer the one the caller checked.
	ErrChanged = errors.New("users: password changed meanwhile")
)

// User is a registered account.
//
// String, GoString and LogValue leave the password hash out, and JSON
// skips it, so that printing or logging a User is safe.
//
// SECURITY(logging): the password hash, all an offline cracker needs,
// never reaches a log, an error message or a page — ASVS 5.0 16.2.5.
type User struct {
	ID           int64
	Email        string // normalized, see NormalizeEmail
	PasswordHash []byte `json:"-"`
	CreatedAt    time.Time
	// Generation is bumped by a password change and before the account
	// is deleted: a session authenticated under an older one must end.
	Generation int64
}

// String describes the user without the password hash (used by %v, %+v and
// %s).
func (u User) String() string {
	return fmt.Sprintf("User{ID: %d, Email: %q, CreatedAt: %s}", u.ID, u.Email, u.CreatedAt.Format(time.RFC3339))
}

// GoString is used by %#v, which would otherwise print every field.
func (u User) GoString() string {
	return fmt.Sprintf("users.User{ID: %d, Email: %q, CreatedAt: %q, PasswordHash: <redacted>}", u.ID, u.Email, u.CreatedAt.Format(time.RFC3339Nano))
}

// LogValue makes slog record the user as a group of its id and email.
func (u User) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("id", u.ID),
		slog.String("email", u.Email),
	)
}

// NormalizeEmail trims surrounding white space and lower-cases s, so that
// " Alice@Example.COM " and "alice@example.com" are one account.
//
// Lower-casing the local part is, strictly, not RFC 5321, but no mail
// provider in use treats case as significant there, and two accounts
// differing only in case invite confusion and impersonation.
func NormalizeEmail(s string) string {
	return strings.ToLower(strings.TrimSpace(s))
}
