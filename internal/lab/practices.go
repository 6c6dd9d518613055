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
	CookieSent      bool // the request carried a session cookie
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
		What:     "The session token travels only in one cookie, named with the __Host- prefix and marked Secure, HttpOnly and SameSite=Strict, with Path=/ and no Domain.",
		Why:      "__Host- makes the browser refuse the cookie unless it is Secure, host-only and for the whole site; HttpOnly hides it from JavaScript, so an injected script cannot read it; SameSite=Strict keeps it off every cross-site request.",
		Standard: "ASVS 5.0 3.3.1–3.3.4", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#cookies",
		Where: []string{"internal/session/manager.go NewManager"},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Cookie name", f.CookieName},
				{"Attributes the server sets", "Secure; HttpOnly; SameSite=Strict; Path=/ (no Domain, no Max-Age: a browser-session cookie)"},
				{"Did this request carry it?", yesNo(f.CookieSent)},
				{"Can JavaScript on this page read it?", "no: HttpOnly (try document.cookie in the console)"},
			}
		},
	},
	{
		Slug: "fixation", Title: "A new token at login", SignedIn: true,
		What:     "Logging in, re-entering the password and changing it each replace the session token with a new random one and delete the old one from the store. A token the server never issued is never adopted.",
		Why:      "Otherwise an attacker who planted a token in your browser before you logged in (session fixation) would share your signed-in session.",
		Standard: "ASVS 5.0 7.2.4", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#renew-the-session-id-after-any-privilege-level-change",
		Where: []string{"internal/session/manager.go Manager.Login, Manager.Reauthenticated"},
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
		What:     "Logout is a POST with a CSRF token. It deletes the session from the store, sends an expired cookie and Clear-Site-Data: \"cache\", \"cookies\", \"storage\".",
		Why:      "A copy of the cookie — from a shared computer, a proxy log, malware — must be worthless once you log out, and Back must not show a signed-in page from the cache.",
		Standard: "ASVS 5.0 7.4.1, 14.3.1", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#manual-session-expiration",
		Where: []string{"internal/session/manager.go Manager.Logout", "internal/server/handlers_auth.go logoutPost"},
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
		What:     "A session ends after a period without requests (idle timeout) and, whatever the activity, a fixed time after it began (absolute lifetime). Both are enforced by the server: the store entry expires.",
		Why:      "A forgotten session on a shared computer, or a stolen token, stays useful only for a bounded time.",
		Standard: "ASVS 5.0 7.3.1, 7.3.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration",
		Where: []string{"internal/session/manager.go NewManager (IdleTimeout, Lifetime)", "internal/config (SESSION_IDLE_TIMEOUT, SESSION_LIFETIME)"},
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
		What:     "The cookie holds 256 random bits; the store (Redis through scs's stock redisstore, or the sessions table through sqlite3store or postgresstore) is keyed by SHA-256 of them. A guard around the stock store writes a tombstone before it deletes a session and checks it after every save, so a deleted session stays deleted.",
		Why:      "A leaked store dump or backup then holds no usable session, and a revocation cannot be undone by a request that was already in flight.",
		Standard: "ASVS 5.0 7.2.3; OWASP Session Management, session ID content", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-id-entropy",
		Where: []string{"internal/session/manager.go (HashTokenInStore)", "internal/redisdb/store.go NewSessionStore", "internal/session/sqlstore.go NewSQLStore", "internal/session/guard.go guard.CommitCtx"},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Store", f.Store},
				{"Your store key starts with", orDash(f.ShortID) + "… (SHA-256 of the token, base64url)"},
				{"Token entropy", "32 bytes from crypto/rand"},
			}
		},
	},
	{
		Slug: "revocation", Title: "See and end every session", SignedIn: true,
		What:     "Every signed-in session is recorded in a per-user registry (at most SESSIONS_PER_USER, 50 by default: signing in past it ends the oldest): device, IP, when it began, when it was last seen. You can end any of them, or all but this one; changing the password offers to end the others, and deleting the account ends them all. Ending a session writes a tombstone, then deletes it; a request in flight, a renewal or a login racing it checks the tombstone (or the credential generation) after its own write and ends itself, so no interleaving brings it back.",
		Why:      "If a device is lost or a cookie stolen, the owner can cut it off at once, instead of waiting for a timeout. Why no database read on every request (as Django compares its session auth hash): measured side by side (docs/BENCHMARKS.md), that read cost more than the whole second Redis round trip it was meant to beat; the ordering above gives the same guarantee — a password change or account deletion bumps the user's credential generation, then ends the sessions it lists, and a login that checked the old password reads the generation again after registering — so a signed-in page costs one store read.",
		Standard: "ASVS 5.0 7.4.2, 7.4.3, 7.5.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration",
		Where: []string{"internal/session/registry.go", "internal/session/manager.go Manager.Revoke, RevokeOthers, Login", "internal/session/guard.go", "internal/server/handlers_sessions.go"},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Your active sessions", fmt.Sprint(f.ActiveSessions) + " — see them on /sessions"},
				{"Re-authentication window", f.ReauthWindow.String() + " (after it, ending sessions asks for your password)"},
			}
		},
	},
	{
		Slug: "csrf", Title: "Cross-site request forgery",
		What:     "Every form that changes something — login and signup included — carries a per-session random token, checked in constant time; requests a browser marks as cross-site are refused before that (net/http CrossOriginProtection); and SameSite=Strict keeps the cookie off them anyway. GET never changes anything.",
		Why:      "Another site cannot make your browser log you out, log you in as the attacker, or end your sessions.",
		Standard: "ASVS 5.0 3.5.1, 3.5.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Cross-Site_Request_Forgery_Prevention_Cheat_Sheet.html",
		Where: []string{"internal/security/csrf.go", "internal/server/routes.go (dynamic tier)"},
		Evidence: func(f Facts) []Evidence {
			return []Evidence{
				{"Sec-Fetch-Site your browser sent with this request", orDash(f.SecFetchSite)},
				{"This page's forms", "carry a csrf_token field tied to your session"},
			}
		},
	},
	{
		Slug: "passwords", Title: "Password storage and checking",
		What:     "Passwords are hashed with bcrypt (cost 12 by default, never under 10) and rehashed at login when the cost rises; until then a check against the older, cheaper hash is padded to the configured cost. At least 8 characters; over 72 bytes is refused, never silently truncated. An unknown email still pays for one bcrypt comparison at the configured cost.",
		Why:      "A stolen user table resists offline cracking, and neither the message, the status nor the time of a failed login tells who has an account.",
		Standard: "ASVS 5.0 6.2.1, 6.2.9, 6.3.8, 11.4.2", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Password_Storage_Cheat_Sheet.html#bcrypt",
		Where: []string{"internal/auth/password.go", "internal/server/handlers_auth.go loginPost", "internal/server/passwords.go"},
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
		What:     "Failed logins are counted per account and per client IP over a sliding window, in Redis when it is configured so every replica shares the counts. Each attempt takes its unit before the password is checked, atomically (a Redis script, or a lock in memory), and a correct password gives it back: of a burst of guesses fired at once, no more than the limit reach bcrypt. Past a limit every attempt — the right password too — answers 429 with Retry-After. Re-entering the password inside a signed-in session draws on that session's own budget, so someone else's failures never keep the owner from ending a thief's session or changing the password.",
		Why:      "Password guessing becomes too slow to pay, without revealing which accounts exist, and without handing an attacker a way to lock the owner out of their own sessions.",
		Standard: "ASVS 5.0 6.3.1", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks",
		Where: []string{"internal/auth/limiter.go Limit.Reserve", "internal/auth/throttle.go Throttle.ReserveLogin, ReserveReauth", "internal/redisdb/limitcounter.go TryIncrement", "internal/server/handlers_auth.go loginPost"},
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
		What:     "A signed-in session remembers the IP it signed in from. Depending on SESSION_IP_BINDING a request from another IP is ignored (off), logged (log), or ends the session (subnet: outside the /24 or /64; strict: any change). X-Forwarded-For counts only from TRUSTED_PROXIES.",
		Why:      "A cookie stolen and replayed from another network is refused or at least recorded. It is a secondary control: addresses change legitimately, and attackers can share one.",
		Standard: "ASVS 5.0 8.2.4, 4.1.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#binding-the-session-id-to-other-user-properties",
		Where: []string{"internal/session/ipbinding.go CheckIP", "internal/server/middleware.go authenticate", "internal/security/clientip.go"},
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
		What:     "Every response carries a strict Content-Security-Policy (no inline script or style), nosniff, no referrer, a restrictive Permissions-Policy, COOP and X-Frame-Options; over HTTPS, HSTS for a year.",
		Why:      "Injected markup cannot run script or be framed, and over TLS the browser never falls back to plain HTTP.",
		Standard: "OWASP HTTP Headers; ASVS 5.0 3.4.1", Link: "https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html",
		Where: []string{"internal/security/headers.go, csp.go, hsts.go"},
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
		Standard: "ASVS 5.0 16.5.1, 16.5.3", Link: "https://cheatsheetseries.owasp.org/cheatsheets/Error_Handling_Cheat_Sheet.html",
		Where: []string{"internal/server/errors.go unavailable", "internal/session/manager.go (ErrorFunc)", "internal/redisdb/pool.go NewPool"},
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
