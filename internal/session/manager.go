package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"
)

// Options is the session policy, taken from config.
type Options struct {
	// CookieName is "__Host-session" unless cookies are not Secure.
	CookieName  string
	Secure      bool
	IdleTimeout time.Duration
	Lifetime    time.Duration
}

// Keys of the values a session carries. Nothing else is stored in it.
const (
	keyUserID = "user_id" // int64, absent while anonymous
	keyAuthAt = "auth_at" // int64 unix nanoseconds of the last password check
	keyCSRF   = "csrf"    // synchronizer token for this session's forms
	keyFlash  = "flash"   // a one-time message for the next page
)

// Manager wraps an scs.SessionManager with Session Lab's policy.
type Manager struct {
	scs   *scs.SessionManager
	store *Store
}

// NewManager configures scs for store. onStoreError answers a request whose
// session could not be loaded or saved; it must not show a signed-in page.
func NewManager(opts Options, store *Store, onStoreError func(http.ResponseWriter, *http.Request, error)) *Manager {
	sm := scs.New()
	sm.Store = store
	// SECURITY(timeouts): idle timeout and absolute lifetime are enforced by
	// the server — the store entry expires at min(last activity + idle,
	// created + lifetime) and scs refuses to load it afterwards, whatever
	// the browser keeps — ASVS 5.0 7.3.1, 7.3.2,
	// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration
	sm.IdleTimeout = opts.IdleTimeout
	sm.Lifetime = opts.Lifetime
	// SECURITY(cookies): __Host- prefix (so Secure, Path=/ and no Domain are
	// enforced by the browser), HttpOnly (no JavaScript access), SameSite=Strict
	// (never sent on cross-site requests) — ASVS 5.0 3.3.1–3.3.4,
	// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies
	sm.Cookie.Name = opts.CookieName
	sm.Cookie.Secure = opts.Secure
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteStrictMode
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = ""
	// A session cookie (no Max-Age) is dropped when the browser closes; the
	// server-side deadlines above are what actually end the session.
	sm.Cookie.Persist = false
	// SECURITY(store): the store holds SHA-256(token), never the token, so
	// a leaked store dump or backup holds no usable session —
	// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-id-content-or-value
	sm.HashTokenInStore = true
	// SECURITY(fail-closed): a store that cannot load or save a session
	// answers 503; scs then does not call the handler, so no signed-in page
	// is ever served without a verified session — ASVS 5.0 16.5.3.
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		onStoreError(w, r, err)
		seal(w)
	}
	return &Manager{scs: sm, store: store}
}

// Middleware loads and saves the session around next. Responses are never
// cached, and once a store error has been answered nothing else the handler
// writes reaches the client.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	inner := m.scs.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&guardWriter{ResponseWriter: w}, r)
	})
}

// Store is the store sessions are kept in.
func (m *Manager) Store() *Store { return m.store }

// Login makes the current session an authenticated session of userID.
//
// SECURITY(fixation): the token is renewed BEFORE the user id is stored and
// before anything is written, so a token planted in the victim's browser
// (or the anonymous token that carried the login form's CSRF token) is
// deleted from the store and never becomes authenticated. scs only ever
// adopts tokens it finds in its store (strict mode) —
// ASVS 5.0 7.2.4, https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change
func (m *Manager) Login(r *http.Request, userID int64) error {
	ctx := r.Context()
	if err := m.scs.RenewToken(ctx); err != nil {
		return err
	}
	m.scs.Put(ctx, keyUserID, userID)
	m.scs.Put(ctx, keyAuthAt, time.Now().UnixNano())
	// A new CSRF token too: one seen before login is worth nothing after.
	m.scs.Put(ctx, keyCSRF, newCSRFToken())
	return nil
}

// Logout ends the session.
//
// SECURITY(logout): Destroy deletes the entry from the store — a copied
// cookie is dead at once — and makes scs send an expired cookie
// (Max-Age=0) — ASVS 5.0 7.4.1,
// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#manual-session-expiration
func (m *Manager) Logout(ctx context.Context) error {
	return m.scs.Destroy(ctx)
}

// UserID is the signed-in user's id, or 0 for an anonymous session.
func (m *Manager) UserID(ctx context.Context) int64 {
	return m.scs.GetInt64(ctx, keyUserID)
}

// AuthenticatedAt is when the password was last checked in this session.
func (m *Manager) AuthenticatedAt(ctx context.Context) time.Time {
	ns := m.scs.GetInt64(ctx, keyAuthAt)
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Deadline is the session's absolute expiry.
func (m *Manager) Deadline(ctx context.Context) time.Time { return m.scs.Deadline(ctx) }

// IdleTimeout is how long the session survives without a request.
func (m *Manager) IdleTimeout() time.Duration { return m.scs.IdleTimeout }

// ShortID names the current session in logs and on pages: the first
// characters of its store key (base64url SHA-256 of the token). It cannot
// be turned back into the token; empty before the session has a token.
func (m *Manager) ShortID(ctx context.Context) string {
	token := m.scs.Token(ctx)
	if token == "" {
		return ""
	}
	return ShortID(token)
}

// ShortID is the display form of a token's store key.
func ShortID(token string) string {
	return StoreKey(token)[:10]
}

// StoreKey is the key scs uses for token when HashTokenInStore is set.
func StoreKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// CSRFToken returns the session's synchronizer token, creating it (and so
// the session) when the session has none.
func (m *Manager) CSRFToken(ctx context.Context) string {
	if tok := m.scs.GetString(ctx, keyCSRF); tok != "" {
		return tok
	}
	tok := newCSRFToken()
	m.scs.Put(ctx, keyCSRF, tok)
	return tok
}

// ExistingCSRFToken returns the session's synchronizer token without
// creating one ("" when the session has none).
func (m *Manager) ExistingCSRFToken(ctx context.Context) string {
	return m.scs.GetString(ctx, keyCSRF)
}

// StaleCookie reports whether the request carried a session cookie that no
// live session answers to: it expired, was logged out or revoked, or was
// never issued. Such a visitor is anonymous; the page can say why.
func (m *Manager) StaleCookie(r *http.Request) bool {
	c, err := r.Cookie(m.scs.Cookie.Name)
	return err == nil && c.Value != "" && m.scs.Token(r.Context()) == ""
}

// Flash stores a message for the next page this session shows.
func (m *Manager) Flash(ctx context.Context, msg string) { m.scs.Put(ctx, keyFlash, msg) }

// PopFlash returns and removes the pending message ("" when none).
func (m *Manager) PopFlash(ctx context.Context) string {
	if !m.scs.Exists(ctx, keyFlash) {
		return ""
	}
	return m.scs.PopString(ctx, keyFlash)
}

// newCSRFToken returns 256 bits from the CSPRNG, base64url-encoded.
func newCSRFToken() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(32))
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return b
}
