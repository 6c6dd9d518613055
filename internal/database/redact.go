package database

import (
	"net/url"
	"strings"

	"github.com/sessionlab/sessionlab/internal/config"
)

// Messages name the database by its URL with the password replaced, and
// driver errors are scrubbed of the password as well, since pgx's own
// redaction is documented as best effort.
//
// SECURITY(logging): a database password never reaches a log line or an
// error page — ASVS 5.0 16.2.5.

// redactedURL returns dsn with any password (userinfo or "password" query
// parameter) masked by config.Redact, or an error if dsn is no URL.
func redactedURL(dsn string) (string, error) {
	if _, err := url.Parse(dsn); err != nil {
		return "", err
	}
	return config.Redact(dsn), nil
}

// passwords returns the password(s) in dsn in every spelling a message could
// quote: as written in the URL and decoded.
func passwords(dsn string) []string {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil
	}
	var out []string
	add := func(s string) {
		if s != "" {
			out = append(out, s, url.QueryEscape(s), url.PathEscape(s))
		}
	}
	if u.User != nil {
		p, _ := u.User.Password()
		add(p)
		// The raw userinfo as written, which may escape differently.
		if raw := u.User.String(); strings.Contains(raw, ":") {
			add(raw[strings.Index(raw, ":")+1:])
		}
	}
	for _, p := range u.Query()["password"] {
		add(p)
	}
	return out
}

// redactedError wraps err with every password of the DSN removed from its
// message. It unwraps to err for errors.Is/As (context.DeadlineExceeded,
// *pgconn.PgError); code that unwraps it must not print what it finds.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func redactErr(err error, secrets []string) error {
	if err == nil || len(secrets) == 0 {
		return err
	}
	msg := err.Error()
	for _, p := range secrets {
		msg = strings.ReplaceAll(msg, p, "xxxxx")
	}
	return &redactedError{msg: msg, err: err}
}
