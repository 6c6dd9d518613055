package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
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
	// TouchEvery is how often a session's "last seen" is written to the
	// registry (default one minute): a write per request would double the
	// store traffic for a value nobody needs to the second.
	TouchEvery time.Duration
}

// Keys of the values a session carries. Nothing else is stored in it.
const (
	keyUserID = "user_id" // int64, absent while anonymous
	keyAuthAt = "auth_at" // int64 unix nanoseconds of the last password check
	keyCSRF   = "csrf"    // synchronizer token for this session's forms
	keyFlash  = "flash"   // a one-time message for the next page
	keySID    = "sid"     // registry display id
	keyBorn   = "born"    // int64 unix ns: when this signed-in session began
	keySeen   = "seen"    // int64 unix ns: last registry touch
	keyIP     = "ip"      // the client IP the session is bound to
	keyDevice = "device"  // short user-agent summary
	keyPrev   = "prev"    // short id of the anonymous session login replaced
)

// Manager wraps an scs.SessionManager with Session Lab's policy.
type Manager struct {
	scs          *scs.SessionManager
	store        *Store
	touchEvery   time.Duration
	refreshEvery time.Duration
}

// NewManager configures scs for store. onStoreError answers a request whose
// session could not be loaded or saved; it must not show a signed-in page.
func NewManager(opts Options, store *Store, onStoreError func(http.ResponseWriter, *http.Request, error)) *Manager {
	sm := scs.New()
	sm.Store = store
	sm.Codec = compactCodec{}
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
	if opts.TouchEvery <= 0 {
		opts.TouchEvery = time.Minute
	}
	// An unchanged session is saved again when its idle expiry would move
	// by a tenth of the idle timeout (at most a minute): most requests then
	// cost one store read and no write.
	refresh := min(opts.IdleTimeout/10, time.Minute)
	return &Manager{scs: sm, store: store, touchEvery: opts.TouchEvery, refreshEvery: refresh}
}

// Middleware loads and saves the session around next. Responses are never
// cached, and once a store error has been answered nothing else the handler
// writes reaches the client.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	inner := m.scs.LoadAndSave(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inner.ServeHTTP(&guardWriter{ResponseWriter: w}, r.WithContext(withLoadState(r.Context(), m.refreshEvery)))
	})
}

// Store is the store sessions are kept in.
func (m *Manager) Store() *Store { return m.store }

// Login makes the current session an authenticated session of userID and
// registers it in the user's session registry.
//
// SECURITY(fixation): the token is renewed BEFORE the user id is stored and
// before anything is written, so a token planted in the victim's browser
// (or the anonymous token that carried the login form's CSRF token) is
// deleted from the store and never becomes authenticated. The store only
// ever loads tokens it issued (strict mode) —
// ASVS 5.0 7.2.4, https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change
func (m *Manager) Login(r *http.Request, userID int64, clientIP netip.Addr) error {
	ctx := r.Context()
	prev := m.ShortID(ctx) // kept only to show, on the fixation page, that it changed
	if err := m.scs.RenewToken(ctx); err != nil {
		return err
	}
	now := time.Now()
	m.scs.Put(ctx, keyPrev, prev)
	m.scs.Put(ctx, keyUserID, userID)
	m.scs.Put(ctx, keyAuthAt, now.UnixNano())
	// A new CSRF token too: one seen before login is worth nothing after.
	m.scs.Put(ctx, keyCSRF, newCSRFToken())
	m.scs.Put(ctx, keySID, base64.RawURLEncoding.EncodeToString(randomBytes(12)))
	m.scs.Put(ctx, keyBorn, now.UnixNano())
	m.scs.Put(ctx, keyIP, clientIP.String())
	m.scs.Put(ctx, keyDevice, DeviceSummary(r.UserAgent()))
	return m.saveAndRegister(ctx, userID, clientIP, now)
}

// Reauthenticated records a fresh password check in this session: the
// token is renewed, the absolute deadline kept.
//
// SECURITY(fixation): a new token at re-authentication and at password
// change too; RenewToken would reset the absolute deadline, so it is read
// first and restored, or a re-authentication would extend the session past
// its lifetime — ASVS 5.0 7.2.4, 7.3.2.
func (m *Manager) Reauthenticated(r *http.Request, clientIP netip.Addr) error {
	ctx := r.Context()
	userID := m.UserID(ctx)
	deadline := m.scs.Deadline(ctx)
	if err := m.scs.RenewToken(ctx); err != nil {
		return err
	}
	m.scs.SetDeadline(ctx, deadline)
	now := time.Now()
	m.scs.Put(ctx, keyAuthAt, now.UnixNano())
	m.scs.Put(ctx, keyCSRF, newCSRFToken())
	return m.saveAndRegister(ctx, userID, clientIP, now)
}

// saveAndRegister writes the session under its new token now (not at the
// end of the request), then records it in the registry, so the registry
// never points at a session the store does not have. If the registry
// cannot be written, the session is destroyed: an unregistered session
// could not be listed or ended by its owner.
func (m *Manager) saveAndRegister(ctx context.Context, userID int64, clientIP netip.Addr, now time.Time) error {
	if _, _, err := m.scs.Commit(ctx); err != nil {
		return err
	}
	if err := m.register(ctx, userID, clientIP, now); err != nil {
		m.scs.Destroy(ctx)
		return fmt.Errorf("register session: %w", err)
	}
	return nil
}

// Touch refreshes the registry's "last seen" and IP for a signed-in
// session, at most once per TouchEvery.
func (m *Manager) Touch(ctx context.Context, clientIP netip.Addr) error {
	userID := m.UserID(ctx)
	if userID == 0 {
		return nil
	}
	now := time.Now()
	if now.Sub(time.Unix(0, m.scs.GetInt64(ctx, keySeen))) < m.touchEvery {
		return nil
	}
	return m.register(ctx, userID, clientIP, now)
}

// register writes this session's registry entry as seen now.
func (m *Manager) register(ctx context.Context, userID int64, clientIP netip.Addr, now time.Time) error {
	m.scs.Put(ctx, keySeen, now.UnixNano())
	return m.store.Registry.Put(ctx, userID, m.entry(ctx, clientIP, now), m.keepUntil(ctx, now))
}

func (m *Manager) entry(ctx context.Context, clientIP netip.Addr, now time.Time) Entry {
	return Entry{
		ID:       m.scs.GetString(ctx, keySID),
		StoreKey: StoreKey(m.scs.Token(ctx)),
		Created:  time.Unix(0, m.scs.GetInt64(ctx, keyBorn)),
		LastSeen: now,
		IP:       clientIP.String(),
		Device:   m.scs.GetString(ctx, keyDevice),
	}
}

// keepUntil is the latest the session can live without another touch.
func (m *Manager) keepUntil(ctx context.Context, now time.Time) time.Time {
	until := now.Add(m.scs.IdleTimeout + m.touchEvery)
	if d := m.scs.Deadline(ctx); m.scs.IdleTimeout == 0 || d.Before(until) {
		until = d
	}
	return until
}

// Logout ends the session and removes it from the registry.
//
// SECURITY(logout): Destroy deletes the entry from the store — a copied
// cookie is dead at once — and makes scs send an expired cookie
// (Max-Age=0) — ASVS 5.0 7.4.1,
// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#manual-session-expiration
func (m *Manager) Logout(ctx context.Context) error {
	userID, sid := m.UserID(ctx), m.CurrentID(ctx)
	if err := m.scs.Destroy(ctx); err != nil {
		return err
	}
	if userID != 0 && sid != "" {
		return m.store.Registry.Remove(ctx, userID, sid)
	}
	return nil
}

// PreLoginShortID is the short id of the anonymous session that login
// replaced ("" when there was none).
func (m *Manager) PreLoginShortID(ctx context.Context) string { return m.scs.GetString(ctx, keyPrev) }

// CookieName is the session cookie's name.
func (m *Manager) CookieName() string { return m.scs.Cookie.Name }

// Lifetime is the absolute lifetime of a session.
func (m *Manager) Lifetime() time.Duration { return m.scs.Lifetime }

// CurrentID is the registry display id of this session ("" if anonymous).
func (m *Manager) CurrentID(ctx context.Context) string { return m.scs.GetString(ctx, keySID) }

// BoundIP is the client IP this session was signed in from.
func (m *Manager) BoundIP(ctx context.Context) netip.Addr {
	a, _ := netip.ParseAddr(m.scs.GetString(ctx, keyIP))
	return a
}

// List is the user's live sessions, oldest first.
func (m *Manager) List(ctx context.Context, userID int64) ([]Entry, error) {
	return m.store.Registry.List(ctx, userID)
}

// Revoke ends one of the user's sessions by display id. It reports false
// when the user has no such live session.
//
// SECURITY(revocation): the session is deleted from the store, so its
// cookie is anonymous on its very next request; a request of that session
// already in flight cannot write it back (see wasLoaded) — ASVS 5.0 7.5.2.
func (m *Manager) Revoke(ctx context.Context, userID int64, id string) (bool, error) {
	entries, err := m.List(ctx, userID)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if e.ID == id {
			return true, m.end(ctx, userID, []Entry{e})
		}
	}
	return false, nil
}

// RevokeOthers ends every session of the user except keepID and returns
// how many it ended. keepID "" ends them all.
//
// SECURITY(revocation): "sign out other devices" after a password change
// or from the sessions page; also used when an account is deleted —
// ASVS 5.0 7.4.2, 7.4.3, 7.5.2.
func (m *Manager) RevokeOthers(ctx context.Context, userID int64, keepID string) (int, error) {
	entries, err := m.List(ctx, userID)
	if err != nil {
		return 0, err
	}
	var others []Entry
	for _, e := range entries {
		if e.ID != keepID {
			others = append(others, e)
		}
	}
	return len(others), m.end(ctx, userID, others)
}

// end deletes sessions from the store, then their registry entries.
func (m *Manager) end(ctx context.Context, userID int64, entries []Entry) error {
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		if err := m.store.DeleteCtx(ctx, e.StoreKey); err != nil {
			return err
		}
		ids = append(ids, e.ID)
	}
	return m.store.Registry.Remove(ctx, userID, ids...)
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

// IdleDeadline is when the session ends if no other request comes: the
// idle timeout from now, but never past the absolute deadline.
func (m *Manager) IdleDeadline(ctx context.Context) time.Time {
	idle, deadline := time.Now().Add(m.scs.IdleTimeout), m.scs.Deadline(ctx)
	if idle.After(deadline) {
		return deadline
	}
	return idle
}

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
