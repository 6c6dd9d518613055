package lab

import (
	"fmt"
	"time"
)

// Facts are what the server knows about the visitor's own session and
// request, gathered once per page. Nothing here is a secret: ids are
// prefixes of SHA-256(token), never the token.
type Facts struct {
	SignedIn        bool
	CookieName      string
	CookieSent      bool          // the request carried a session cookie
	CookieAttrs     string        // as the session manager sets them (never typed)
	CookieLifetime  string        // this session's: Max-Age when remembered, else browser-session
	StoredAs        string        // the name the store keeps this session under (the storage page only)
	StoreTTL        time.Duration // how long the store keeps it from now (the storage page only)
	ShortID         string
	PreLoginShortID string // the session cookie the browser sent at login, if any
	Store           string
	IdleTimeout     time.Duration
	Lifetime        time.Duration
	IdleDeadline    time.Time
	Deadline        time.Time
	AuthenticatedAt time.Time
	ReauthWindow    time.Duration
	IPBinding       string
	BoundIP         string
	CurrentIP       string
	TrustedProxies  int
	ActiveSessions  int
	StoredCost      int // bcrypt cost of the user's stored hash
	ConfiguredCost  int
	SecFetchSite    string
	AccountLimit    int
	IPLimit         int
	ThrottleWindow  time.Duration
	TLS             bool
	// ResponseHeaders are the security headers this very response carries.
	ResponseHeaders map[string]string
}

// ShownHeaders are the security headers the headers practice shows, read
// from the very response that carries the page.
var ShownHeaders = []string{"Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Opener-Policy", "X-Frame-Options", "Strict-Transport-Security"}

// Evidence is one live fact shown on a practice page.
type Evidence struct{ Label, Value string }

// Practice is one teaching page.
type Practice struct {
	Slug, Title string
	What, Why   string
	Standard    string // e.g. "ASVS 5.0 7.2.4"
	Link        string // the OWASP page that explains it
	Where       []string
	// NotStopped is what the practice does not protect against; Mistakes
	// are the usual ways to get it wrong; Elsewhere says how Django, PHP,
	// express-session and Spring do the same (facts, not advice).
	NotStopped, Mistakes, Elsewhere []string
	// Terms are the glossary entries (Term.Slug) the page links to.
	Terms []string
	// Steps are the "Try it yourself" steps: two to five things a learner
	// does by hand, in the browser's DevTools or with curl against
	// `make run` (StepsBaseURL), each ending in something they can see.
	// Code goes between backticks; StepsFor renders them.
	Steps []string
	// Evidence lists the live facts; signedIn says whether it needs a
	// signed-in session to show anything.
	Evidence func(Facts) []Evidence
	SignedIn bool
}

const ts = "2006-01-02 15:04:05 UTC"

func when(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(ts)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Practices is the catalogue, in the order the index lists it.
var Practices = []Practice{
	{
		Slug: "cookie", Title: "The session cookie",
		What: "The session token travels only in one cookie, named with the __Host- prefix and marked Secure, HttpOnly and SameSite=Strict, with Path=/ and no Domain. " +
			"By default it has no Max-Age and no Expires: it is a browser-session (non-persistent) cookie, as OWASP's Session Management Cheat Sheet advises for session ids. " +
			"Ticking \"Keep me signed in on this device\" at login makes it persistent: scs (its RememberMe) then sends Max-Age and Expires equal to the session's current expiry — the idle deadline, capped by the absolute one — renewed as the session is used.",
		Why: "__Host- makes the browser refuse the cookie unless it is Secure, has Path=/ and no Domain, so neither a sibling subdomain nor a plain-HTTP attacker can plant or overwrite it: a defence against session fixation. " +
			"HttpOnly hides it from JavaScript. That limits theft, not XSS: an injected script cannot read the cookie, but every request it sends still carries it. " +
			"SameSite=Strict keeps it off every cross-site request; a sibling subdomain is same-site, so stopping its requests is the cross-origin check's job (see the CSRF practice). " +
			"Strict has a cost: a link from another site arrives without the cookie, so that first page looks signed out. The app must then not answer with a new session cookie, or it would replace the signed-in one and sign the visitor out; Session Lab sets no session cookie for an anonymous visitor, so the next click inside the app is signed in again. " +
			"Max-Age is not a timeout. A cookie's lifetime only says how long the browser keeps it; the server's idle and absolute deadlines are what end the session, whatever the cookie says. And a browser-session cookie does not always die with the browser: browsers that restore the previous session at start-up keep it.",
		Standard: "ASVS 5.0 3.3.1–3.3.4", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies",
		Where: []string{"internal/session/manager.go NewManager, Manager.Remember, Manager.capRememberedCookie", "internal/server/handlers_auth.go loginPost (remember)", "internal/security/csrfcookie.go AnonCSRF (no session for anonymous visitors)"},
		NotStopped: []string{
			"Script injected into the site (XSS): it cannot read the cookie, but it can act as you — every request it sends carries it.",
			"Malware or a malicious browser extension on your device, which can read the cookie jar.",
			"A copy of the cookie taken from the device: it works until the server ends the session (see logout, timeouts and IP binding).",
			"Requests from a sibling subdomain: they are same-site, so SameSite sends the cookie with them.",
		},
		Mistakes: []string{
			"Treating Max-Age as the session timeout: a copy of the cookie, or a browser that keeps it longer, works until the server's deadline. End sessions on the server.",
			"Setting Domain=example.com: the cookie then goes to every subdomain, and any of them can overwrite it. Leave Domain out (host-only), as __Host- requires.",
			"Counting on HttpOnly against XSS: it keeps the token from being read, not the session from being used.",
			"Answering a request that arrived without the cookie (SameSite=Strict, a link from another site) with a fresh session cookie: it replaces the signed-in one.",
		},
		Elsewhere: []string{
			"Django: SESSION_COOKIE_HTTPONLY (True by default), SESSION_COOKIE_SECURE (False by default), SESSION_COOKIE_SAMESITE (\"Lax\" by default); the cookie is persistent for SESSION_COOKIE_AGE (two weeks) unless SESSION_EXPIRE_AT_BROWSER_CLOSE = True.",
			"PHP: session.cookie_httponly, session.cookie_secure, session.cookie_samesite; session.cookie_lifetime = 0, the default, is a browser-session cookie.",
			"express-session: cookie.httpOnly (true by default), cookie.secure (false by default), cookie.sameSite; cookie.maxAge = null, the default, is a browser-session cookie.",
			"Spring Boot: server.servlet.session.cookie.http-only, .secure, .same-site and .max-age; without max-age the container's session cookie is a browser-session cookie.",
		},
		Terms: []string{"origin", "site", "registrable-domain", "browser-session-cookie", "persistent-cookie", "session-fixation", "secure-context"},
		Steps: []string{
			"Log in, then open DevTools → Application → Cookies (Firefox: Storage → Cookies) → http://localhost:8080: the `__Host-session` row has the attributes \"Attributes the server sets\" lists above — HttpOnly ticked, SameSite Strict, Path `/`, Domain `localhost` (host-only: no subdomain gets it) — and Expires says Session: a browser-session cookie.",
			"In the Console, run `document.cookie` (or press the button above): the session cookie is not in the answer. HttpOnly keeps it from every script, yours and an attacker's.",
			"Log out and log in again with \"Keep me signed in on this device\" ticked: the cookie's Expires is now a date, the idle deadline /profile shows, and it moves on as you keep using the site.",
			"Copy the cookie's value and replay it: `curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` answers 200 with your profile; without the header, 303 to /login. To the server a copy is as good as the original, which is why logout, timeouts and IP binding matter.",
		},
		Evidence: func(f Facts) []Evidence {
			ev := []Evidence{
				{"Cookie name", f.CookieName},
				{"Attributes the server sets", f.CookieAttrs + ". No Max-Age or Expires (a browser-session cookie) unless \"Keep me signed in on this device\" was ticked at login: then both, up to the session's current expiry"},
				{"Did this request carry it?", yesNo(f.CookieSent)},
				{"Can JavaScript on this page read it?", "no: HttpOnly (try document.cookie in the console)"},
			}
			if f.SignedIn {
				ev = append(ev, Evidence{"This browser's cookie", f.CookieLifetime})
				ev = append(ev, Evidence{"What ends your session", "the server: if idle, at " + when(f.IdleDeadline) + "; at the latest " + when(f.Deadline) + " — whatever the cookie's lifetime"})
			}
			return ev
		},
	},
	{
		Slug: "fixation", Title: "A new token at login", SignedIn: true,
		What: "Logging in, re-entering the password and changing it each replace the session token with a new random one and delete the old one from the store. " +
			"The session's data moves to the new token (scs's RenewToken keeps it, so only the token and its store key change); login then writes the user, a fresh CSRF token and the sign-in time into it. " +
			"A token the server never issued is never adopted: the store only loads tokens it issued.",
		Why:      "Otherwise an attacker who planted a token in your browser before you logged in (session fixation) would share your signed-in session.",
		Standard: "ASVS 5.0 7.2.4", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change",
		Where: []string{"internal/session/manager.go Manager.Login, Manager.Reauthenticated"},
		NotStopped: []string{
			"A token stolen after login (session hijacking): the token changes at login, re-authentication and password change, not on every request — see timeouts, revocation and IP binding.",
			"An attacker who can run script in the page or read the cookie jar.",
		},
		Mistakes: []string{
			"Clearing the session's data at login without changing its id: the id the attacker planted now names a signed-in session.",
			"Changing the id but leaving the old one loadable in the store.",
			"Adopting any id the client sends (a permissive store), so the attacker can simply choose one.",
			"Renewing only at login: ASVS 7.2.4 asks for a new token at re-authentication too.",
		},
		Elsewhere: []string{
			"Django: login() gives the session a new key (cycle_key(), or flush() when another user was signed in).",
			"PHP: call session_regenerate_id(true) at login (true deletes the old session), and set session.use_strict_mode = 1 (off by default) so that unknown ids are not adopted.",
			"express-session: call req.session.regenerate() at login.",
			"Spring Security: on by default — sessionFixation().changeSessionId() calls HttpServletRequest.changeSessionId(), keeping the session's attributes.",
		},
		Terms: []string{"session-fixation", "session-hijacking", "token", "store-key"},
		Steps: []string{
			"Logged out, open http://localhost:8080/login and plant a session cookie of an attacker's choosing, as a sibling subdomain or an injected script could — in the Console: `document.cookie = \"__Host-session=attacker-chosen-value; Path=/; Secure\"`. DevTools → Application → Cookies shows it. Do not reload: the next page the app serves drops a session cookie it never issued.",
			"Log in with the form. The Cookies panel now holds another value: the app issued a new token instead of adopting yours.",
			"Open this page: \"Session cookie your browser sent at login\" shows the planted value's short id, marked not adopted — the same 10 characters as `printf %s attacker-chosen-value | openssl dgst -sha256 -binary | openssl base64 | tr '+/' '-_' | cut -c1-10` prints — and \"Session now\" shows another.",
			"Be the attacker: `curl -si -H 'Cookie: __Host-session=attacker-chosen-value' http://localhost:8080/profile` answers 303 to /login: the planted value opens nobody's session.",
		},
		Evidence: func(f Facts) []Evidence {
			prev := f.PreLoginShortID
			if prev == "" {
				prev = "none: your browser sent no session cookie when you logged in (the login form needs no session)"
			} else {
				prev += " — not adopted: login issued a new token, and an old one is deleted from the store"
			}
			return []Evidence{
				{"Session cookie your browser sent at login", prev},
				{"Session now", f.ShortID},
				{"Last password check", when(f.AuthenticatedAt)},
			}
		},
	},
	{
		Slug: "logout", Title: "Logout ends the session on the server",
		What: "Logout is a POST with a CSRF token. It deletes the session from the store, sends an expired cookie (Max-Age=0) and Clear-Site-Data: \"cache\", \"cookies\", \"storage\". " +
			"Every page that uses the session is sent with Cache-Control: no-store.",
		Why: "A copy of the cookie — from a shared computer, a proxy log, malware — must be worthless once you log out: the server forgets the session, so the copy is anonymous. " +
			"Clear-Site-Data then asks the browser to drop what it kept. Its \"cookies\" clears every cookie of the registrable domain, subdomains included, not only this origin's; it works only in secure contexts (HTTPS, or http://localhost); and it leaves shared caches such as proxies alone. " +
			"The Back button is handled by no-store — the signed-in page was never stored — not by Clear-Site-Data.",
		Standard: "ASVS 5.0 7.4.1, 14.3.1, 14.3.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#manual-session-expiration",
		Where: []string{"internal/session/manager.go Manager.Logout", "internal/server/handlers_auth.go logoutPost", "internal/session/writer.go (no-store)"},
		NotStopped: []string{
			"What a copy of the token did before you logged out.",
			"Your sessions on other devices: end them on /sessions.",
			"A browser that ignores Clear-Site-Data, or a page that is not a secure context: the server-side delete still works.",
		},
		Mistakes: []string{
			"Logout that only deletes the cookie: a copy of it works until the session times out. Delete the session on the server.",
			"Logout by GET: any page can then log you out with a link or an image.",
			"Self-contained tokens (JWTs) with no revocation: \"logout\" drops the client's copy and the token stays valid until it expires. ASVS 7.4.1 asks for a list of ended tokens, a per-user \"not before\" time or a rotated key.",
			"Sessions kept in a signed cookie (Starlette's SessionMiddleware, Django's signed_cookies backend): the server holds nothing to delete, so logout cannot kill a copy.",
			"Counting on Clear-Site-Data for the Back button: that is Cache-Control: no-store's job.",
		},
		Elsewhere: []string{
			"Django: logout() calls session.flush(), which deletes the session from the store.",
			"PHP: session_destroy() deletes the session's data but not the cookie; the manual's example also expires the cookie with setcookie().",
			"express-session: req.session.destroy() deletes it from the store; res.clearCookie() clears the cookie.",
			"Spring Security: logout is a POST when CSRF protection is on (the default) and invalidates the HttpSession; Clear-Site-Data through HeaderWriterLogoutHandler with ClearSiteDataHeaderWriter.",
		},
		Terms: []string{"registrable-domain", "origin", "secure-context", "token"},
		Steps: []string{
			"Log in and copy your `__Host-session` cookie's value (DevTools → Application → Cookies).",
			"Check the copy works: `curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` answers 200 with your profile and `Cache-Control: no-store`.",
			"Open /profile, then DevTools → Network with Preserve log ticked, and press Log out: the POST to /logout answers with `Clear-Site-Data: \"cache\", \"cookies\", \"storage\"` and a Set-Cookie that expires the session cookie (`Max-Age=0`); the login page says your session was deleted from the store.",
			"Run the same curl again: 303 to /login?next=/profile — the copy is worthless, because the server deleted the session. Press Back: the browser asks for /profile again (it never stored it: no-store) and lands on the login page.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"This session", orDash(f.ShortID)},
				{"After logout", "its store entry is gone: the same cookie, replayed, is anonymous"},
				{"Cache-Control on this page", "no-store"},
			}
		},
	},
	{
		Slug: "timeouts", Title: "Idle timeout and absolute lifetime",
		What: "A session ends after a period without requests (idle timeout) and, whatever the activity, a fixed time after sign-in (absolute lifetime). " +
			"Both are enforced by the server: the store entry expires, and a session past its deadline is never loaded, whatever the cookie says. " +
			"The idle expiry is refreshed at most once per interval (a tenth of the idle timeout, at most a minute), so it is enforced to within that tenth, never later. " +
			"The defaults, 30 minutes idle and 12 hours in all, are inside NIST SP 800-63B-4's limits for AAL2 (1 hour idle, 24 hours), the comparison ASVS 7.1.1 asks to document.",
		Why:      "A forgotten session on a shared computer ends by itself. Against a stolen token the idle timeout does little: an attacker who keeps it busy — a request now and then — keeps it alive. Only the absolute lifetime bounds how long a copy stays useful.",
		Standard: "ASVS 5.0 7.1.1, 7.3.1, 7.3.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration",
		Where: []string{"internal/session/manager.go NewManager (IdleTimeout, Lifetime)", "internal/config (SESSION_IDLE_TIMEOUT, SESSION_LIFETIME)"},
		NotStopped: []string{
			"A stolen token used at once, within the limits.",
			"An attacker who keeps a stolen session busy, until the absolute lifetime.",
		},
		Mistakes: []string{
			"Taking the cookie's Max-Age for the timeout: it only tells the browser how long to keep the cookie; a copy works until the server's deadline.",
			"An idle timeout alone: a hijacker who keeps the session busy keeps it for ever.",
			"Timeouts enforced in the client (a JavaScript timer, a timestamp in the cookie): the attacker controls the client.",
			"Re-authentication that restarts the absolute lifetime: Session Lab's keeps the deadline.",
		},
		Elsewhere: []string{
			"Django: SESSION_COOKIE_AGE (two weeks by default) is both the cookie's Max-Age and the stored session's expiry, pushed back whenever the session is saved (on every request with SESSION_SAVE_EVERY_REQUEST); no absolute lifetime built in.",
			"PHP: a garbage collector, run on a fraction of requests, deletes sessions idle for longer than session.gc_maxlifetime (1440 s by default): a lower bound, not a deadline; no absolute lifetime.",
			"express-session: cookie.maxAge is the cookie's lifetime, and stores such as connect-redis use it as the TTL; rolling: true renews it on every response; no absolute lifetime.",
			"Spring Boot: server.servlet.session.timeout (30 minutes by default) is an idle timeout; no absolute lifetime built in.",
		},
		Terms: []string{"idle-timeout", "absolute-timeout", "renewal-timeout", "persistent-cookie"},
		Steps: []string{
			"Stop the app and start it with short deadlines: `SESSION_IDLE_TIMEOUT=1m SESSION_LIFETIME=3m make run` (`make demo` uses 2 and 10 minutes).",
			"Log in and open this page: the evidence shows the 1m0s idle timeout and when your session ends if idle, and at the latest. Copy your `__Host-session` cookie's value.",
			"Leave the site alone for over a minute, then run `curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile`: 303 to /login, whatever the cookie says. Reload the page: the login page says your session has ended.",
			"Log in again and click a link every 20 seconds or so: three minutes after you signed in, the next click lands on the login page all the same — activity pushes back the idle deadline, never the absolute one.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Idle timeout", f.IdleTimeout.String()},
				{"This session ends if idle until", when(f.IdleDeadline)},
				{"Absolute lifetime", f.Lifetime.String()},
				{"This session ends at the latest", when(f.Deadline)},
			}
		},
	},
	{
		Slug: "storage", Title: "The store never holds the token",
		What: "The cookie holds 256 random bits; the store (Redis through scs's stock redisstore, or the sessions table through sqlite3store or postgresstore) is keyed by SHA-256 of them. " +
			"A session's life in Redis: generated at login or sign-up (32 bytes from crypto/rand) → hashed (SHA-256, base64url: the key sessionlab:session:…) → saved with a TTL at its expiry (the idle deadline, capped by the absolute one), pushed back as it is used → deleted at logout, revocation or renewal, after a tombstone is written. " +
			"A guard around the stock store checks the tombstone after every save, so a deleted session stays deleted.",
		Why: "A leaked store dump or backup then holds no usable token: a store key cannot be turned back into a cookie. " +
			"Hashing protects against read-only leaks of the store, not against someone who can write to it, and the session data itself (user id, IP, device) still leaks. " +
			"It goes beyond ASVS, which asks for the token's entropy (7.2.3), not for how the store keeps it. And a revocation cannot be undone by a request that was already in flight.",
		Standard: "ASVS 5.0 7.2.3 (hashing goes beyond ASVS)", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#built-in-session-management-implementations",
		Where: []string{"internal/session/manager.go (HashTokenInStore)", "internal/redisdb/store.go NewSessionStore", "internal/session/sqlstore.go NewSQLStore", "internal/session/guard.go guard.CommitCtx"},
		NotStopped: []string{
			"Someone who can write to the store: they can add a session of their own.",
			"Reading the session data in a dump: the user id, IP and device are stored as they are.",
			"Theft of the token itself, from the device or the network.",
		},
		Mistakes: []string{
			"Keying the store by the raw token: a read-only leak of Redis or of a backup becomes a list of live sessions.",
			"Session keys with no TTL: sessions that never end, and a store that only grows.",
			"Home-made tokens (a timestamp, a user id, math/rand): guessable. Use a CSPRNG and at least 128 bits (ASVS 7.2.3).",
		},
		Elsewhere: []string{
			"Django, PHP, express-session and Spring Session key their stores by the session id as the cookie carries it; none of them hashes it by default.",
		},
		Terms: []string{"token", "store-key", "tombstone"},
		Steps: []string{
			"Log in and copy your `__Host-session` cookie's value.",
			"Hash it as the app does, SHA-256 then base64url: `printf %s 'VALUE' | openssl dgst -sha256 -binary | openssl base64 | tr '+/' '-_' | tr -d '='`. It starts with the characters this page shows as your store key.",
			"Look in the store. With `make run` (SQLite): `sqlite3 data/sessionlab.db 'select token from sessions'` (the column is called token; it holds the hash). With Redis (REDIS_URL set): `redis-cli --scan --pattern 'sessionlab:session:*'`, and `redis-cli pttl sessionlab:session:HASH` for the milliseconds it has left. Your hash is there; your cookie's value is nowhere.",
			"Log out and run the same command again: your entry is gone.",
		},
		Evidence: func(f Facts) []Evidence {
			ev := []Evidence{
				{"Store", f.Store},
				{"Your store key starts with", orDash(f.ShortID) + "… (SHA-256 of the token, base64url)"},
				{"Token entropy", "32 bytes from crypto/rand"},
			}
			if f.StoredAs != "" {
				ev = append(ev,
					Evidence{"Stored under", f.StoredAs + " — the hash, not the token your cookie holds"},
					Evidence{"The store keeps it for", f.StoreTTL.Round(time.Second).String() + " more (read from the store now: Redis PTTL, or the row's expiry), unless a request pushes it back"})
			}
			return ev
		},
	},
	{
		Slug: "revocation", Title: "See and end every session", SignedIn: true,
		What:     "Every signed-in session is recorded in a per-user registry (at most SESSIONS_PER_USER, 50 by default: signing in past it ends the oldest): device, IP, when it began, when it was last seen. You can end any of them, or all but this one; changing the password offers to end the others, and deleting the account ends them all. Ending a session writes a tombstone, then deletes it; a request in flight, a renewal or a login racing it checks the tombstone (or the credential generation) after its own write and ends itself, so no interleaving brings it back.",
		Why:      "If a device is lost or a cookie stolen, the owner can cut it off at once, instead of waiting for a timeout. Why no database read on every request (as Django compares its session auth hash): measured side by side (docs/BENCHMARKS.md), that read cost more than the whole second Redis round trip it was meant to beat; the ordering above gives the same guarantee — a password change or account deletion bumps the user's credential generation, then ends the sessions it lists, and a login that checked the old password reads the generation again after registering — so a signed-in page costs one store read.",
		Standard: "ASVS 5.0 7.4.2, 7.4.3, 7.5.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration",
		Where: []string{"internal/session/registry.go", "internal/session/manager.go Manager.Revoke, RevokeOthers, Login", "internal/session/guard.go", "internal/server/handlers_sessions.go", "internal/server/handlers_account.go accountPasswordPost, accountDeletePost"},
		NotStopped: []string{
			"What a thief did before you ended the session.",
			"A thief who also knows your password: change it, and end the other sessions.",
			"A session you cannot tell apart: the device and IP shown are hints, and both can be spoofed.",
		},
		Mistakes: []string{
			"Self-contained tokens (JWTs) or signed-cookie sessions with no server-side list: there is nothing on the server to end.",
			"Ending sessions without asking for the password again: a thief with your cookie could end yours.",
			"Not offering to end the other sessions after a password change (ASVS 7.4.3).",
			"Finding a user's sessions by scanning the whole store (KEYS, SCAN): the cost grows with everyone's sessions.",
		},
		Elsewhere: []string{
			"Django: no list of a user's sessions built in; a password change ends the other sessions, because each keeps a hash derived from the password (update_session_auth_hash keeps the current one).",
			"PHP and express-session: nothing built in.",
			"Spring Security: a SessionRegistry (with sessionManagement().maximumSessions()) lists and expires a user's sessions; Spring Session's FindByIndexNameSessionRepository finds them by user name.",
		},
		Terms: []string{"session-hijacking", "tombstone", "store-key"},
		Steps: []string{
			"Log in here, and with the same account in a private window (or another browser).",
			"Open /sessions here: one row per session, with device, IP and times (hover a time for the exact one); this one is marked \"this session\".",
			"Copy the private window's `__Host-session` value and check it works: `curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` answers 200.",
			"Back here, press End session on the other row (it asks for your password if you signed in longer ago than the re-authentication window). The same curl now answers 303 to /login, and the private window's next click lands on the login page.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Your active sessions", fmt.Sprint(f.ActiveSessions) + " — see them on /sessions"},
				{"Re-authentication window", f.ReauthWindow.String() + " (after it, ending sessions asks for your password)"},
			}
		},
	},
	{
		Slug: "csrf", Title: "Cross-site request forgery",
		What: "Three layers. First, net/http's CrossOriginProtection: GET, HEAD and OPTIONS pass; any other method passes only with Sec-Fetch-Site: same-origin or none, so a sibling subdomain (same-site, not same-origin) is refused too; without that header the Origin header is compared with Host; with neither header the request passes — which is why the token check matters. " +
			"Second, SameSite=Strict keeps the session cookie off cross-site requests only: a sibling subdomain is same-site and gets it. " +
			"Third, every form that changes something — login and signup included — carries a random token tied to the session (before login, to a __Host-csrf cookie), checked in constant time. GET never changes anything.",
		Why:      "Another site cannot make your browser log you out, log you in as the attacker, or end your sessions.",
		Standard: "ASVS 5.0 3.5.1, 3.5.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html",
		Where: []string{"internal/security/csrf.go", "internal/security/csrfcookie.go", "internal/server/routes.go (dynamic tier)"},
		NotStopped: []string{
			"Script injected into this site (XSS): it runs in this origin, reads the token from the page and sends the request itself.",
			"Clickjacking: that is the job of CSP frame-ancestors and X-Frame-Options (see the headers practice).",
		},
		Mistakes: []string{
			"Changing state on GET (a logout link, ?delete=1): SameSite=Lax sends the cookie on top-level GET navigations, and token checks usually skip GET.",
			"No token on the login form: login CSRF signs the victim into the attacker's account.",
			"Relying on SameSite alone: sibling subdomains are same-site.",
			"A naive double-submit cookie (a plain cookie compared with a form field): a sibling subdomain can set the cookie. Session Lab's is __Host- and HttpOnly.",
		},
		Elsewhere: []string{
			"Django: CsrfViewMiddleware (on by default) checks a token kept in the csrftoken cookie, or in the session with CSRF_USE_SESSIONS, and checks Origin.",
			"PHP and express-session: nothing built in.",
			"Spring Security: CSRF protection is on by default, with a synchronizer token kept in the HttpSession.",
		},
		Terms: []string{"session-riding", "synchronizer-token", "fetch-metadata", "origin", "site"},
		Steps: []string{
			"Log in and copy your `__Host-session` cookie's value.",
			"Forge a logout that carries your cookie but not the form's token: `curl -si -X POST -H 'Cookie: __Host-session=VALUE' http://localhost:8080/logout` answers 403, and the page says the CSRF token was missing.",
			"Send it as a page on another site would: add `-H 'Origin: https://attacker.example'` (or `-H 'Sec-Fetch-Site: cross-site'`). 403 again, this time from the cross-origin check, and the page says so.",
			"`curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` still answers 200: nothing was logged out. View the source of this page: the Log out form carries a hidden `csrf_token` field, the one thing another site cannot read.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Sec-Fetch-Site your browser sent with this request", orDash(f.SecFetchSite)},
				{"This page's forms", "carry a csrf_token field tied to your session"},
			}
		},
	},
	{
		Slug: "passwords", Title: "Password storage and checking",
		What: "Passwords are hashed with bcrypt (cost 12 by default, never under 10) and rehashed at login when the cost rises; until then a check against the older, cheaper hash is padded to the configured cost. " +
			"At least 8 characters, with no composition rules. At most 72 bytes, bcrypt's limit: a longer password is refused, never silently truncated, so every password is checked exactly as typed. " +
			"72 bytes is about 72 characters of plain English, but as few as 36 in Cyrillic, 24 in Chinese or Japanese and 18 emoji — short of the 64 characters ASVS 6.2.9 asks to allow. " +
			"An unknown email still pays for one bcrypt comparison at the configured cost.",
		Why: "A stolen user table resists offline cracking. At login, neither the message, the status nor the time of a failed attempt tells who has an account. " +
			"Sign-up does tell: it answers \"An account with this email already exists\", and ASVS 6.3.8 covers registration too; the sign-up limit per IP only slows that enumeration. " +
			"What Session Lab does not do yet: the Password Storage Cheat Sheet calls bcrypt a legacy choice and recommends Argon2id (or, with bcrypt, an HMAC pre-hash, which also lifts the 72-byte limit); new passwords are not checked against a blocklist of common ones (ASVS 6.2.4, a SHALL in NIST SP 800-63B-4) nor Unicode-normalised (a NIST SHOULD). " +
			"8 characters is the ASVS floor (6.2.1, which strongly recommends 15) and a documented choice for a demo; NIST SP 800-63B-4 asks 15 for a password used as the only factor.",
		Standard: "ASVS 5.0 6.2.1, 6.2.5, 6.2.8, 6.3.8, 11.4.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#bcrypt",
		Where: []string{"internal/auth/password.go", "internal/server/handlers_auth.go loginPost", "internal/server/passwords.go"},
		NotStopped: []string{
			"A password reused from a breached site: there is no blocklist yet.",
			"Phishing, or a keylogger on the device.",
			"Online guessing of a common password: only throttling slows it.",
		},
		Mistakes: []string{
			"Letting bcrypt truncate at 72 bytes: every password that shares the first 72 bytes then works.",
			"Composition rules (one digit, one symbol): ASVS 6.2.5 rules them out; length and a blocklist work better.",
			"A different message, status or time for an unknown email and a wrong password.",
			"A cost set once and never raised: rehash at login when it rises.",
		},
		Elsewhere: []string{
			"Django: PBKDF2 by default (Argon2 and bcrypt with a SHA-256 pre-hash available), upgraded at login; the project template enables validators for a minimum length and for common passwords.",
			"PHP: password_hash() with PASSWORD_DEFAULT (bcrypt), password_verify(), and password_needs_rehash() to upgrade at login.",
			"express-session: nothing; Node apps add a bcrypt or argon2 package.",
			"Spring Security: DelegatingPasswordEncoder, bcrypt by default; with a UserDetailsPasswordService it rehashes at login when the encoding is outdated.",
		},
		Terms: []string{"credential-stuffing", "password-spraying"},
		Steps: []string{
			"On /signup, try a 7-character password: \"Use at least 8 characters.\" Then one of 73 characters (the letter a, 73 times): refused as longer than bcrypt's 72 bytes, never silently cut.",
			"Sign up with a valid password and open this page: \"Cost of your stored hash\" equals \"Configured bcrypt cost\" (12 unless BCRYPT_COST says otherwise).",
			"Log out, open DevTools → Network, and on /login try your email with a wrong password, then an email that has no account: the same message (\"Email or password is incorrect.\"), the same status (401) and about the same time — an unknown email still pays for one bcrypt comparison.",
		},
		Evidence: func(f Facts) []Evidence {
			ev := []Evidence{{"Configured bcrypt cost", fmt.Sprint(f.ConfiguredCost)}}
			if f.SignedIn {
				ev = append(ev, Evidence{"Cost of your stored hash", fmt.Sprint(f.StoredCost)})
			}
			return ev
		},
	},
	{
		Slug: "throttling", Title: "Throttled logins",
		What: "Failed logins are counted per account and per client IP over a sliding window, in Redis when it is configured so every replica shares the counts. Each attempt takes its unit before the password is checked, atomically (a Redis script, or a lock in memory), and a correct password gives it back: of a burst of guesses fired at once, no more than the limit reach bcrypt. Past a limit every attempt — the right password too — answers 429 with Retry-After. During a login flood that keeps every bcrypt slot busy, a login that could not get one in time is answered 503 before any of this: no unit taken, the same answer for every account. Re-entering the password inside a signed-in session draws on that session's own budget, so someone else's failures never keep the owner from ending a thief's session or changing the password.",
		Why: "Guessing one account's password becomes too slow to pay, without revealing which accounts exist. The per-IP limit slows one address trying a common password on many accounts (password spraying). " +
			"Credential stuffing — leaked email and password pairs, one try per account, from many IPs — is slowed by neither limit. " +
			"The per-account limit is also a lever: anyone can keep one account's new logins throttled by failing on purpose (a targeted lockout), for as long as they keep at it — never for good, and never the owner's signed-in sessions. " +
			"NIST SP 800-63B-4 §3.2.2 caps consecutive failures per account at 100, with no window; 10 per 15 minutes lets up to 960 a day through: a documented deviation, in the way ASVS 6.1.1 asks.",
		Standard: "ASVS 5.0 6.1.1, 6.3.1", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks",
		Where: []string{"internal/auth/limiter.go Limit.Reserve", "internal/auth/throttle.go Throttle.ReserveLogin, ReserveReauth", "internal/redisdb/limitcounter.go TryIncrement", "internal/server/handlers_auth.go loginPost"},
		NotStopped: []string{
			"Credential stuffing from many IPs, one try per account.",
			"A targeted lockout: failures on purpose keep one account's new logins throttled while they last.",
			"A right guess within the budget.",
		},
		Mistakes: []string{
			"Counting after the check: a burst fired at once reaches bcrypt before any failure is counted.",
			"A per-IP limit that trusts X-Forwarded-For from anyone: every request claims a new IP.",
			"A permanent lockout after N failures: anyone can then lock anyone out.",
			"Limits kept in one process's memory behind several replicas: each replica grants its own budget.",
		},
		Elsewhere: []string{
			"None of Django, PHP, express-session or Spring Security throttles logins by itself: Django projects add django-axes, Express apps express-rate-limit.",
		},
		Terms: []string{"password-spraying", "credential-stuffing"},
		Steps: []string{
			"Sign up a throwaway account (what follows blocks its logins for the throttle window, 15 minutes by default) and log out.",
			"On /login, enter its email with a wrong password as many times as \"Failed logins per account\" on this page allows (10 by default): each answers \"Email or password is incorrect.\"",
			"Now enter the right password: \"Too many attempts. Please wait a while before trying again.\", status 429 with a Retry-After header (DevTools → Network). The budget is spent, so even a correct guess is not checked.",
			"Log in to another account: it works at once. The per-account limit is that account's alone; only the per-IP limit (50 by default, counted for the IP this page shows) is shared.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Failed logins per account", fmt.Sprintf("%d per %s", f.AccountLimit, f.ThrottleWindow)},
				{"Failed logins per client IP", fmt.Sprintf("%d per %s", f.IPLimit, f.ThrottleWindow)},
				{"Your client IP, as the server counts it", orDash(f.CurrentIP)},
			}
		},
	},
	{
		Slug: "ip-binding", Title: "IP binding",
		What: "A signed-in session remembers the IP it signed in from. Depending on SESSION_IP_BINDING a request from another IP is ignored (off), logged (log), or ends the session (subnet: outside the /24 or /64; strict: any change). X-Forwarded-For counts only from TRUSTED_PROXIES. " +
			"The demo defaults to strict so that a cookie copied to another machine visibly stops working; production usually uses log or subnet.",
		Why: "A cookie stolen and replayed from another network is refused or at least recorded. It is a secondary control with real costs: subnet ends the session when a dual-stack browser switches between IPv4 and IPv6, and carrier-grade NAT or a Wi-Fi↔cellular switch changes the /24; strict also breaks on IPv6 temporary addresses (RFC 8981), which change over the day; and a replay from another IP ends the victim's session too. " +
			"Attackers can share an IP with their victim.",
		Standard: "ASVS 5.0 8.2.4, 4.1.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#binding-the-session-id-to-other-user-properties",
		Where: []string{"internal/session/ipbinding.go CheckIP", "internal/server/middleware.go authenticate", "internal/security/clientip.go"},
		NotStopped: []string{
			"A replay from the same IP: behind the same NAT, on the same Wi-Fi, or from malware on the victim's own machine.",
			"Under log or off, any replay: it is recorded or ignored, not refused.",
		},
		Mistakes: []string{
			"Trusting X-Forwarded-For from any peer: the attacker sends the victim's IP in it.",
			"strict for mobile users: every change of network signs them out.",
			"Binding to the User-Agent as if it were a secret: it is sent with every request and easy to copy.",
		},
		Elsewhere: []string{
			"None of Django, PHP, express-session or Spring Security binds a session to an IP by default; it is left to the application.",
		},
		Terms: []string{"session-hijacking"},
		Steps: []string{
			"Log in and copy your `__Host-session` cookie's value. This page shows the policy (strict by default) and the IP your session is bound to: 127.0.0.1 from localhost.",
			"Claim another IP in a header: `curl -s -H 'Cookie: __Host-session=VALUE' -H 'X-Forwarded-For: 203.0.113.7' http://localhost:8080/practices/ip-binding | grep -o 'came from</dt><dd>[^<]*'` still prints 127.0.0.1: with no TRUSTED_PROXIES the header is ignored.",
			"Replay the cookie from another address: `curl -si --interface 127.0.0.2 -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` (Linux; on macOS run `sudo ifconfig lo0 alias 127.0.0.2` first) answers 303 to /login, and the app's log shows `event=ip.mismatch` with `action=\"session destroyed\"`. Reload this page: you are signed out too — a refused replay ends the victim's session.",
			"Restart with `SESSION_IP_BINDING=log make run`, log in and replay again: now 200 with your profile, and the log says `action=logged` — recorded, not refused.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Policy", f.IPBinding},
				{"Your session is bound to", orDash(f.BoundIP)},
				{"This request came from", orDash(f.CurrentIP)},
				{"Trusted proxies configured", fmt.Sprint(f.TrustedProxies)},
			}
		},
	},
	{
		Slug: "headers", Title: "Security headers",
		What: "Every response carries a strict Content-Security-Policy (no inline script or style), nosniff, no referrer, a restrictive Permissions-Policy, COOP and X-Frame-Options; over HTTPS, HSTS for a year. " +
			"The CSP names no reporting endpoint (ASVS 3.4.7 is not met).",
		Why: "Injected markup cannot run script or be framed, and over TLS the browser never falls back to plain HTTP. " +
			"COOP gives a window opened from another origin no handle on this one (no window.opener tricks); on its own it does not give the cross-origin isolation that guards against Spectre-style reads — that also needs COEP, which Session Lab does not send.",
		Standard: "ASVS 5.0 3.4.1, 3.4.3–3.4.6, 3.4.8; OWASP HTTP Headers", Link: "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html",
		Where: []string{"internal/security/headers.go, csp.go, hsts.go"},
		NotStopped: []string{
			"An injection that needs no script: a fake form posting to this site, a misleading link.",
			"A compromised script served from this origin: the CSP allows 'self'.",
			"A first visit over plain HTTP, before the browser has seen HSTS (the site is not preloaded).",
		},
		Mistakes: []string{
			"'unsafe-inline' in script-src: it undoes most of what the CSP is for.",
			"HSTS sent over plain HTTP (the browser ignores it), or with includeSubDomains before every subdomain speaks HTTPS.",
			"X-Frame-Options alone: ASVS 3.4.6 calls it obsolete; CSP frame-ancestors is the control.",
		},
		Elsewhere: []string{
			"Django: SecurityMiddleware sends nosniff, Referrer-Policy: same-origin and COOP: same-origin by default, and HSTS once SECURE_HSTS_SECONDS is set; XFrameOptionsMiddleware sends DENY.",
			"Spring Security: nosniff, X-Frame-Options: DENY, Cache-Control: no-store (with no-cache) and, over HTTPS, HSTS by default; a CSP only when configured.",
			"express-session and PHP: none; Express apps add the helmet package.",
		},
		Terms: []string{"origin", "secure-context"},
		Steps: []string{
			"`curl -s -D - -o /dev/null http://localhost:8080/` prints the response's headers: Content-Security-Policy, X-Content-Type-Options, Referrer-Policy, Permissions-Policy, Cross-Origin-Opener-Policy and X-Frame-Options — and no Strict-Transport-Security, since this is plain HTTP.",
			"Ask for `/healthz`, or a page that does not exist such as `/nope`: the same headers. They are set before anything answers.",
			"In the DevTools Console, inject markup that carries a script: `document.body.insertAdjacentHTML('beforeend', '<img src=x onerror=alert(1)>')`. No alert: the Console reports that the Content Security Policy refused the inline event handler.",
		},
		Evidence: func(f Facts) []Evidence {
			var ev []Evidence
			for _, h := range ShownHeaders {
				v := f.ResponseHeaders[h]
				if v == "" && h == "Strict-Transport-Security" {
					v = "not sent: this request is not over TLS"
				}
				ev = append(ev, Evidence{h + " on this response", orDash(v)})
			}
			return ev
		},
	},
	{
		Slug: "fail-closed", Title: "Failing closed",
		What:     "When the session store or the database does not answer, every page that needs them answers 503 — never a page that treats the visitor as signed in — with a generic message; the details go to the log with a request id. Redis calls have timeouts, so an outage cannot hang requests, and the app recovers by itself.",
		Why:      "An outage must not become a way in, nor a way to read internals off an error page.",
		Standard: "ASVS 5.0 16.5.1, 16.5.2, 16.5.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Error_Handling_Cheat_Sheet.html",
		Where: []string{"internal/server/errors.go unavailable", "internal/session/manager.go (ErrorFunc)", "internal/redisdb/pool.go NewPool"},
		NotStopped: []string{
			"The outage itself: while the store is down, nobody can sign in or use a signed-in page.",
			"Code that catches the store's error and carries on.",
		},
		Mistakes: []string{
			"Treating a store error as \"no session\" and then trusting something else instead (a user id in a cookie, a cached page).",
			"No timeouts on store calls: one hung Redis holds every request.",
			"Error pages that print the exception: stack traces, SQL, addresses of internal services.",
		},
		Elsewhere: []string{
			"express-session passes a store error to next(err), so the app's error handler answers.",
			"Django's cache session backend treats a cache error as an empty session: the visitor is anonymous, never signed in.",
		},
		Steps: []string{
			"Start the app on Redis: `REDIS_URL=redis://127.0.0.1:6379 make run` (with a local redis-server, or `docker run --rm -p 6379:6379 redis`), log in, and copy your `__Host-session` cookie's value.",
			"Stop Redis (`redis-cli shutdown`, or stop the container). `curl -si -H 'Cookie: __Host-session=VALUE' http://localhost:8080/profile` answers 503, \"The service is temporarily unavailable\": neither signed in nor a stranger, and no Redis error text. The app's log has the details under the response's X-Request-Id.",
			"`curl -si http://localhost:8080/readyz` answers 503 while `curl -si http://localhost:8080/healthz` answers 200: the process is alive, its store is not. Start Redis again: /readyz answers 200, with no restart of the app.",
		},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Store", f.Store},
				{"Readiness", "GET /readyz answers 200 only while the database and the store answer"},
			}
		},
	},
}

// Find returns the practice with slug.
func Find(slug string) (Practice, bool) {
	for _, p := range Practices {
		if p.Slug == slug {
			return p, true
		}
	}
	return Practice{}, false
}

func orDash(s string) string {
	if s == "" || s == "invalid IP" {
		return "—"
	}
	return s
}
