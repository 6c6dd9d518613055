package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
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
	// MaxSessions caps the signed-in sessions of one user (0: 50); a login
	// past it ends the user's oldest sessions.
	MaxSessions int
	// Hooks let tests stop a request at the moments races happen.
	Hooks Hooks
	// SkipRenewal, when set and true, makes Login keep the token it finds:
	// the contrast build's switch (server/contrast_on.go), nil otherwise.
	SkipRenewal func() bool
}

// Hooks are called, when set, at points where another request can
// interleave. Production code sets none.
type Hooks struct {
	// Loaded runs once the request's session is loaded, before the handler.
	Loaded func(r *http.Request)
	// Authenticating runs when Login or Reauthenticated starts: the
	// password was checked, nothing is saved or registered yet.
	Authenticating func(ctx context.Context)
	// Registered runs after Login or Reauthenticated saved the session
	// under its new token and registered it, before the request ends.
	Registered func(ctx context.Context)
	// Committed runs after each write of a session to the stock store.
	Committed func(ctx context.Context, storeKey string)
}

// ErrEnded reports that the session was ended (logged out, revoked,
// renewed by another request) while this request was using it.
var ErrEnded = errEnded

// Keys of the values a session carries. Nothing else is stored in it.
const (
	keyUserID  = "user_id" // int64, absent while anonymous
	keyEmail   = "email"   // the signed-in user's email, for pages
	keyJoined  = "joined"  // int64 unix ns: when the account was created
	keyGen     = "gen"     // int64: the user's credential generation at authentication
	keyAuthAt  = "auth_at" // int64 unix nanoseconds of the last password check
	keyCSRF    = "csrf"    // synchronizer token for this session's forms
	keyFlash   = "flash"   // a one-time message for the next page
	keySID     = "sid"     // registry display id
	keyBorn    = "born"    // int64 unix ns: when this signed-in session began
	keySeen    = "seen"    // int64 unix ns: last refresh of the idle expiry and the registry
	keyIP      = "ip"      // the client IP the session is bound to
	keyDevice  = "device"  // short user-agent summary
	keyPrev    = "prev"    // short id of the session cookie the browser sent at login, if any
	keyPlanted = "planted" // an anonymous session the attack lab issued to plant it
)

// Manager wraps an scs.SessionManager with Session Lab's policy.
type Manager struct {
	scs          *scs.SessionManager
	store        *Store
	refreshEvery time.Duration
	maxSessions  int
	hooks        Hooks
	skipRenewal  func() bool
}

// NewManager configures scs for store. onStoreError answers a request whose
// session could not be loaded or saved; it must not show a signed-in page.
func NewManager(opts Options, store *Store, onStoreError func(http.ResponseWriter, *http.Request, error)) *Manager {
	sm := scs.New()
	sm.Store = store
	sm.Codec = compactCodec{}
	// The store entry expires at min(last activity + idle, created +
	// lifetime) and scs refuses to load it afterwards.
	// SECURITY(timeouts): the server enforces the idle timeout and the
	// absolute lifetime, whatever the browser keeps — ASVS 5.0 7.3.1, 7.3.2.
	sm.IdleTimeout = opts.IdleTimeout
	sm.Lifetime = opts.Lifetime
	// SECURITY(cookie): __Host- prefix (the browser enforces Secure, Path=/
	// and no Domain), HttpOnly (no JavaScript access), SameSite=Strict (never
	// sent on cross-site requests) — ASVS 5.0 3.3.1–3.3.4.
	sm.Cookie.Name = opts.CookieName
	sm.Cookie.Secure = opts.Secure
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteStrictMode
	sm.Cookie.Path = "/"
	sm.Cookie.Domain = ""
	// A browser-session cookie (no Max-Age, no Expires) unless the user asks
	// to be remembered (Remember). Browsers that restore the previous session
	// at start-up keep it across restarts, and Max-Age is not a timeout: the
	// server-side deadlines above are what end the session.
	sm.Cookie.Persist = false
	// Hashing does not help against someone who can write to the store,
	// and the session data (user id, IP) still leaks.
	// SECURITY(storage): the store holds SHA-256(token), never the token, so
	// a read-only leak (a dump, a backup) holds no usable token; this goes
	// beyond ASVS 5.0 7.2.3, which asks only for the token's entropy.
	sm.HashTokenInStore = true
	// SECURITY(fail-closed): a store that cannot load or save a session
	// answers 503; scs then does not call the handler, so no signed-in page
	// is ever served without a verified session — ASVS 5.0 16.5.3.
	sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		onStoreError(w, r, err)
		seal(w)
	}
	// A tombstone outlives every request that could still hold its session.
	if opts.Lifetime > 0 {
		store.guard.ttl = opts.Lifetime
	}
	store.guard.committed = opts.Hooks.Committed
	// The idle expiry and the registry's "last seen" are refreshed once a
	// tenth of the idle timeout (at most a minute) has passed: in between,
	// a request that changes nothing leaves the session's bytes equal to
	// what was loaded, and the guard writes nothing.
	refresh := min(opts.IdleTimeout/10, time.Minute)
	if opts.IdleTimeout <= 0 {
		refresh = time.Minute
	}
	if opts.MaxSessions <= 0 {
		opts.MaxSessions = 50
	}
	return &Manager{scs: sm, store: store, refreshEvery: refresh, maxSessions: opts.MaxSessions, hooks: opts.Hooks, skipRenewal: opts.SkipRenewal}
}

// Middleware loads and saves the session around next. Responses are never
// cached, and once a store error has been answered nothing else the handler
// writes reaches the client.
func (m *Manager) Middleware(next http.Handler) http.Handler {
	if m.hooks.Loaded != nil {
		h := next
		next = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			m.hooks.Loaded(r)
			h.ServeHTTP(w, r)
		})
	}
	h := next
	inner := m.scs.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqStateFrom(r.Context()).session = r.Context()
		h.ServeHTTP(w, r)
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := withReqState(r.Context())
		st := reqStateFrom(ctx)
		gw := &guardWriter{ResponseWriter: w}
		gw.beforeHeader = func(h http.Header) { m.capRememberedCookie(h, st) }
		inner.ServeHTTP(gw, r.WithContext(ctx))
		gw.finish() // scs wrote the cookie after a handler that wrote nothing
	})
}

// Remember makes the session's cookie persistent ("keep me signed in on
// this device"): scs's RememberMe sends it with Max-Age and Expires, and
// capRememberedCookie keeps them within the session's own expiry.
func (m *Manager) Remember(ctx context.Context) { m.scs.RememberMe(ctx, true) }

// CookieAttributes describes the session cookie as this Manager sends it,
// from its own settings (never typed on a page): e.g. "HttpOnly, Secure,
// SameSite=Strict, Path=/, no Domain".
func (m *Manager) CookieAttributes() string {
	c := m.scs.Cookie
	var parts []string
	if c.HttpOnly {
		parts = append(parts, "HttpOnly")
	}
	if c.Secure {
		parts = append(parts, "Secure")
	} else {
		parts = append(parts, "not Secure (COOKIE_SECURE=false)")
	}
	switch c.SameSite {
	case http.SameSiteStrictMode:
		parts = append(parts, "SameSite=Strict")
	case http.SameSiteLaxMode:
		parts = append(parts, "SameSite=Lax")
	case http.SameSiteNoneMode:
		parts = append(parts, "SameSite=None")
	}
	parts = append(parts, "Path="+c.Path)
	if c.Domain == "" {
		parts = append(parts, "no Domain")
	} else {
		parts = append(parts, "Domain="+c.Domain)
	}
	return strings.Join(parts, ", ")
}

// CookieLifetime describes this session's cookie lifetime: the Max-Age it
// is sent with when remembered, or that it is a browser-session cookie.
func (m *Manager) CookieLifetime(ctx context.Context) string {
	if !m.Remembered(ctx) {
		return "no Max-Age or Expires: a browser-session cookie, gone when the browser closes"
	}
	exp := m.StoreExpiry(ctx)
	return fmt.Sprintf("Max-Age=%d (until %s, the session's own expiry; renewed as you use it): you ticked \"keep me signed in\"",
		max(1, int(time.Until(exp)/time.Second)), exp.UTC().Format("15:04:05 UTC"))
}

// StoredAs returns the name the current session is stored under (the key
// is SHA-256 of the token, never the token) and how long the store keeps
// it from now; found is false when the store has no entry for it.
func (m *Manager) StoredAs(ctx context.Context) (name string, ttl time.Duration, found bool, err error) {
	token := m.scs.Token(ctx)
	if token == "" {
		return "", 0, false, nil
	}
	return m.store.Inspect(ctx, StoreKey(token))
}

// IssueAnonymous creates an anonymous session in the store now and
// returns its token: the attack lab plants it, as an attacker who got a
// real token from the site would. The cookie is written at the end of the
// request, as for any session.
func (m *Manager) IssueAnonymous(ctx context.Context) (string, error) {
	m.scs.Put(ctx, keyPlanted, true)
	token, _, err := m.scs.Commit(ctx)
	return token, err
}

// Remembered reports whether the session's cookie is persistent.
func (m *Manager) Remembered(ctx context.Context) bool { return m.scs.GetBool(ctx, "__rememberMe") }

// capRememberedCookie lowers a persistent session cookie's Max-Age and
// Expires to the session's expiry in the store. scs sets them to now +
// the idle timeout, but the guard skips writes that change nothing, so
// the store's idle expiry is renewed only when "seen" is (once per
// refreshEvery): without the cap the cookie could outlive the session by
// up to refreshEvery.
//
// SECURITY(cookie): a persistent cookie never outlives the session it
// carries; the server's deadlines still end the session (Max-Age is not a
// timeout) — ASVS 5.0 7.3.1.
func (m *Manager) capRememberedCookie(h http.Header, st *reqState) {
	if st == nil || st.session == nil {
		return
	}
	values := h.Values("Set-Cookie")
	for i, v := range values {
		c, err := http.ParseSetCookie(v)
		if err != nil || c.Name != m.scs.Cookie.Name || c.MaxAge <= 0 {
			continue
		}
		expiry := m.StoreExpiry(st.session)
		if !expiry.Before(c.Expires) {
			return
		}
		c.Expires = time.Unix(expiry.Unix(), 0)
		c.MaxAge = max(1, int(time.Until(expiry)/time.Second))
		values[i] = c.String()
		h["Set-Cookie"] = values
		return
	}
}

// StoreExpiry is when the store lets the session go if no request comes:
// its last refresh ("seen") plus the idle timeout, capped by the absolute
// deadline. A request that changed the session may have pushed it later;
// this is never later than the real expiry.
func (m *Manager) StoreExpiry(ctx context.Context) time.Time {
	deadline := m.scs.Deadline(ctx)
	if m.scs.IdleTimeout <= 0 {
		return deadline
	}
	seen := time.Now()
	if ns := m.scs.GetInt64(ctx, keySeen); ns > 0 {
		seen = time.Unix(0, ns)
	}
	if idle := seen.Add(m.scs.IdleTimeout); idle.Before(deadline) {
		return idle
	}
	return deadline
}

// Store is the store sessions are kept in.
func (m *Manager) Store() *Store { return m.store }

// Identity is who a session is signed in as. It is kept in the session
// itself, so a signed-in request needs no database read.
type Identity struct {
	UserID     int64
	Email      string
	Joined     time.Time
	Generation int64 // the user's credential generation when the password was checked
}

// StillValid reports whether the credentials a session was authenticated
// with are still current (the user exists, its generation is unchanged).
type StillValid func(ctx context.Context) (bool, error)

// Login makes the current session an authenticated session of id and
// registers it in the user's session registry; then it asks stillValid
// and ends the session if the credentials changed meanwhile.
//
// A password change (or an account deletion) bumps the generation, then
// ends the sessions it finds in the registry. A login that checked the old
// password registers first and reads the generation after: either the
// change's list came later and found it, or this read comes later and
// sees the bump.
//
// SECURITY(revocation): no interleaving of a login and a password change
// leaves a session of the old password alive — ASVS 5.0 7.4.3.
//
// The store only ever loads tokens it issued (strict mode).
//
// SECURITY(fixation): the token is renewed before the user id is stored
// and before anything is written, so a planted token (or the anonymous one
// that carried the login form's CSRF token) is deleted from the store and
// never becomes authenticated — ASVS 5.0 7.2.4.
func (m *Manager) Login(r *http.Request, id Identity, clientIP netip.Addr, stillValid StillValid) error {
	ctx := r.Context()
	userID := id.UserID
	if m.hooks.Authenticating != nil {
		m.hooks.Authenticating(ctx)
	}
	// Kept only to show, on the fixation page, that the cookie the browser
	// sent at login (a planted one, or a session's) was not adopted: the
	// short id of its hash, never the token.
	prev := ""
	if c, err := r.Cookie(m.scs.Cookie.Name); err == nil && c.Value != "" {
		prev = ShortID(c.Value)
	}
	if m.skipRenewal == nil || !m.skipRenewal() {
		if err := m.scs.RenewToken(ctx); err != nil {
			return err
		}
	}
	now := time.Now()
	m.scs.Put(ctx, keyPrev, prev)
	m.scs.Put(ctx, keyUserID, userID)
	m.scs.Put(ctx, keyEmail, id.Email)
	m.scs.Put(ctx, keyJoined, id.Joined.UnixNano())
	m.scs.Put(ctx, keyGen, id.Generation)
	m.scs.Put(ctx, keyAuthAt, now.UnixNano())
	// A new CSRF token too: one seen before login is worth nothing after.
	m.scs.Put(ctx, keyCSRF, newCSRFToken())
	m.scs.Put(ctx, keySID, base64.RawURLEncoding.EncodeToString(randomBytes(12)))
	m.scs.Put(ctx, keyBorn, now.UnixNano())
	m.scs.Put(ctx, keyIP, clientIP.String())
	m.scs.Put(ctx, keyDevice, DeviceSummary(r.UserAgent()))
	m.scs.Put(ctx, keySeen, now.UnixNano())
	if err := m.saveAndRegister(ctx, userID, clientIP, now, ""); err != nil {
		return err
	}
	if err := m.verify(ctx, stillValid); err != nil {
		return err
	}
	return m.capSessions(ctx, userID)
}

// capSessions ends the user's oldest sessions past MaxSessions.
//
// SECURITY(revocation): the registry of one user stays bounded, so
// endless logins of one account cannot grow the store or make /sessions
// slow for everyone — ASVS 5.0 7.1.2.
func (m *Manager) capSessions(ctx context.Context, userID int64) error {
	entries, err := m.store.Registry.List(ctx, userID) // oldest first
	if err != nil || len(entries) <= m.maxSessions {
		return err
	}
	current := m.CurrentID(ctx)
	var oldest []Entry
	for _, e := range entries {
		if len(entries)-len(oldest) <= m.maxSessions {
			break
		}
		if e.ID != current {
			oldest = append(oldest, e)
		}
	}
	return m.end(ctx, userID, oldest)
}

// MaxSessions is the cap on one user's signed-in sessions.
func (m *Manager) MaxSessions() int { return m.maxSessions }

// verify ends this request's session when stillValid says its credentials
// changed (ErrEnded), or cannot tell (its error).
func (m *Manager) verify(ctx context.Context, stillValid StillValid) error {
	ok, err := stillValid(ctx)
	if err == nil && ok {
		return nil
	}
	if lerr := m.Logout(ctx); lerr != nil && err == nil {
		err = lerr
	}
	if err == nil {
		err = ErrEnded
	}
	return err
}

// Reauthenticated records a fresh password check in this session: the
// token is renewed, the absolute deadline kept (RenewToken would reset
// it, so it is read first and restored).
//
// SECURITY(fixation): a new token at re-authentication and at password
// change too, without extending the session past its lifetime — ASVS 5.0
// 7.2.4, 7.3.2.
func (m *Manager) Reauthenticated(r *http.Request, clientIP netip.Addr, generation int64, stillValid StillValid) error {
	ctx := r.Context()
	if m.hooks.Authenticating != nil {
		m.hooks.Authenticating(ctx)
	}
	userID := m.UserID(ctx)
	deadline := m.scs.Deadline(ctx)
	oldKey := StoreKey(m.scs.Token(ctx))
	// The old entry is tombstoned now but deleted only once the registry
	// names the new key (saveAndRegister): until then a registry read by
	// another request would find the entry's session gone and prune it.
	deferDeletes(ctx)
	defer m.store.flushDeletes(ctx)
	if err := m.scs.RenewToken(ctx); err != nil {
		return err
	}
	m.scs.SetDeadline(ctx, deadline)
	now := time.Now()
	m.scs.Put(ctx, keyAuthAt, now.UnixNano())
	m.scs.Put(ctx, keyGen, generation)
	m.scs.Put(ctx, keyCSRF, newCSRFToken())
	m.scs.Put(ctx, keySeen, now.UnixNano())
	if err := m.saveAndRegister(ctx, userID, clientIP, now, oldKey); err != nil {
		return err
	}
	return m.verify(ctx, stillValid)
}

// saveAndRegister writes the session under its new token now (not at the
// end of the request), then records it in the registry, so the registry
// never points at a session the store does not have. renewedFrom is the
// store key a re-authentication renewed from ("" at login).
//
// The guard checks the session's tombstone after the save; the registry
// moves the entry to the new key only while it still points at the old
// one; and the tombstone is checked once more after that move. Whoever
// ends the session writes its tombstone, then re-reads the registry:
// either it sees the new key and deletes it, or this check sees the
// tombstone.
//
// SECURITY(revocation): a renewal racing the end of its session never
// comes back under the new token — ASVS 5.0 7.4.1, 7.5.2.
func (m *Manager) saveAndRegister(ctx context.Context, userID int64, clientIP netip.Addr, now time.Time, renewedFrom string) error {
	sid := m.CurrentID(ctx)
	watch(ctx, sid)
	if _, _, err := m.scs.Commit(ctx); err != nil {
		return err
	}
	if endedMeanwhile(ctx) {
		return m.ended(ctx)
	}
	e, until := m.entry(ctx, clientIP, now), m.keepUntil(ctx, now)
	if renewedFrom == "" {
		if err := m.store.Registry.Put(ctx, userID, e, until); err != nil {
			m.scs.Destroy(ctx)
			return fmt.Errorf("register session: %w", err)
		}
	} else {
		moved, err := m.store.Registry.Update(ctx, userID, e, renewedFrom, until)
		if err != nil {
			m.scs.Destroy(ctx)
			return fmt.Errorf("register session: %w", err)
		}
		if !moved {
			return m.ended(ctx)
		}
		if err := m.store.flushDeletes(ctx); err != nil {
			return err
		}
		if gone, err := m.store.marks.AnyMarked(ctx, sidMark(sid)); err != nil || gone {
			if err == nil {
				err = m.ended(ctx)
			} else {
				m.scs.Destroy(ctx)
			}
			return err
		}
	}
	if m.hooks.Registered != nil {
		m.hooks.Registered(ctx)
	}
	return nil
}

// ended destroys what this request holds of a session that was ended
// meanwhile and reports ErrEnded.
func (m *Manager) ended(ctx context.Context) error {
	if err := m.scs.Destroy(ctx); err != nil {
		return err
	}
	return ErrEnded
}

// Touch refreshes the session's idle expiry and, for a signed-in session,
// the registry's "last seen" and IP — once per refresh interval, by
// changing the session data (so the guard saves it), never on every
// request.
func (m *Manager) Touch(ctx context.Context, clientIP netip.Addr) error {
	if m.scs.Token(ctx) == "" {
		return nil // no session yet: nothing to keep alive
	}
	now := time.Now()
	if now.Sub(time.Unix(0, m.scs.GetInt64(ctx, keySeen))) < m.refreshEvery {
		return nil
	}
	m.scs.Put(ctx, keySeen, now.UnixNano())
	userID := m.UserID(ctx)
	if userID == 0 {
		return nil
	}
	// false: the session was ended or renewed elsewhere since this request
	// loaded it. Its entry is left alone; the guard undoes this request's
	// save if the session was ended.
	_, err := m.store.Registry.Update(ctx, userID, m.entry(ctx, clientIP, now), StoreKey(m.scs.Token(ctx)), m.keepUntil(ctx, now))
	return err
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
	until := now.Add(m.scs.IdleTimeout + m.refreshEvery)
	if d := m.scs.Deadline(ctx); m.scs.IdleTimeout == 0 || d.Before(until) {
		until = d
	}
	return until
}

// Logout ends the session and removes it from the registry.
//
// SECURITY(logout): Destroy deletes the entry from the store, so a copied
// cookie is dead at once, and makes scs send an expired cookie
// (Max-Age=0) — ASVS 5.0 7.4.1.
func (m *Manager) Logout(ctx context.Context) error {
	userID, sid, token := m.UserID(ctx), m.CurrentID(ctx), m.scs.Token(ctx)
	if userID != 0 && sid != "" && token != "" {
		// Ended like any revoked session, so a renewal of this session in
		// another request cannot outlive it.
		if err := m.end(ctx, userID, []Entry{{ID: sid, StoreKey: StoreKey(token)}}); err != nil {
			return err
		}
	}
	return m.scs.Destroy(ctx)
}

// PreLoginShortID is the short id of the session cookie the browser sent
// when it logged in ("" when it sent none).
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
// already in flight cannot write it back (see guard) — ASVS 5.0 7.5.2.
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

// end ends sessions: tombstones, then the store entries (guard.end); then
// the registry is read again, and an entry that a concurrent renewal moved
// to a new key has that key ended too; then the entries are removed.
func (m *Manager) end(ctx context.Context, userID int64, entries []Entry) error {
	if len(entries) == 0 {
		return nil
	}
	if err := m.store.end(ctx, entries); err != nil {
		return err
	}
	ending := make(map[string]string, len(entries)) // id → key ended
	ids := make([]string, 0, len(entries))
	for _, e := range entries {
		ending[e.ID] = e.StoreKey
		ids = append(ids, e.ID)
	}
	now, err := m.store.Registry.List(ctx, userID)
	if err != nil {
		return err
	}
	var moved []Entry
	for _, e := range now {
		if key, ok := ending[e.ID]; ok && e.StoreKey != key {
			moved = append(moved, e)
		}
	}
	if err := m.store.end(ctx, moved); err != nil {
		return err
	}
	return m.store.Registry.Remove(ctx, userID, ids...)
}

// Identity is who the session is signed in as (UserID 0: anonymous).
func (m *Manager) Identity(ctx context.Context) Identity {
	return Identity{
		UserID:     m.scs.GetInt64(ctx, keyUserID),
		Email:      m.scs.GetString(ctx, keyEmail),
		Joined:     time.Unix(0, m.scs.GetInt64(ctx, keyJoined)),
		Generation: m.scs.GetInt64(ctx, keyGen),
	}
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

// IdleDeadline is when the session ends if no other request comes: its
// store expiry (StoreExpiry), never past the absolute deadline.
func (m *Manager) IdleDeadline(ctx context.Context) time.Time { return m.StoreExpiry(ctx) }

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

// ExpireCookie tells the browser to drop its session cookie, without
// touching the store (for a cookie no live session answers to).
func (m *Manager) ExpireCookie(w http.ResponseWriter) {
	m.scs.WriteSessionCookie(context.Background(), w, "", time.Time{})
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
