package server_test

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/redisdb"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// ASVS 5.0 3.3.1–3.3.4: the cookie as the browser receives it.
func TestSessionCookie_HasHostPrefixAndStrictAttributes(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		c := app.newClient()
		email, pw := newUser()

		c.get("/signup")
		signup := c.post("/signup", url.Values{"email": {email}, "password": {pw}})
		c.post("/logout", nil)
		c.get("/login")
		login := c.post("/login", url.Values{"email": {email}, "password": {pw}})

		for name, r := range map[string]*response{"signup": signup, "login": login} {
			if len(r.setCookie) != 1 {
				t.Fatalf("%s: %d session Set-Cookie headers, want 1", name, len(r.setCookie))
			}
			ck := r.setCookie[0]
			if ck.Name != "__Host-session" || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/" || ck.Domain != "" {
				t.Errorf("%s: cookie %q: got Secure=%v HttpOnly=%v SameSite=%v Path=%q Domain=%q; want __Host-session, Secure, HttpOnly, Strict, /, no Domain",
					name, ck.Raw, ck.Secure, ck.HttpOnly, ck.SameSite, ck.Path, ck.Domain)
			}
			// ASVS 5.0 7.2.3: at least 128 bits from the CSPRNG.
			raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
			if err != nil || len(raw) < 16 {
				t.Errorf("%s: token decodes to %d bytes (err %v), want ≥ 16", name, len(raw), err)
			}
		}
	})
}

// CS strict mode: a token the server never issued is never adopted.
func TestLogin_PlantedTokenIsNeverAdopted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)

		victim := app.newClient()
		planted := randomToken()
		victim.setToken(planted)
		victim.get("/login")
		if got := victim.token(); got == planted {
			t.Fatal("the login page kept a token the server never issued")
		}
		victim.login(email, pw)
		if got := victim.token(); got == planted || got == "" {
			t.Fatalf("after login the cookie is %q, want a new token", got)
		}
		if app.env.has(t, planted) {
			t.Error("the store holds an entry for the planted token")
		}

		attacker := app.newClient()
		attacker.setToken(planted)
		attacker.mustBeAnonymous()
	})
}

// ASVS 5.0 7.2.4: the login form needs no session, so there is no
// anonymous token to fix; whatever cookie the browser brings to the login
// (here one an attacker planted) is not adopted: login issues a new token,
// and the CSRF token changes with the privilege level.
func TestLogin_RenewsTokenSoFixedAnonymousTokenIsUseless(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)

		victim := app.newClient()
		if r := victim.get("/login"); len(r.setCookie) != 0 || victim.token() != "" {
			t.Fatal("the login page set a session cookie: the form must need no session")
		}
		fixed := randomToken()
		victim.setToken(fixed) // planted just before the victim submits
		csrfBefore := victim.csrf
		r := victim.post("/login", url.Values{"email": {email}, "password": {pw}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d, want 303", r.status)
		}
		after := victim.token()
		if after == fixed || after == "" {
			t.Fatalf("token after login = %q, want a new one", after)
		}
		if app.env.has(t, fixed) {
			t.Error("the planted token is in the store")
		}
		if !app.env.has(t, after) {
			t.Error("the new token is not in the store")
		}
		attacker := app.newClient()
		attacker.setToken(fixed)
		attacker.mustBeAnonymous()
		victim.mustBeSignedIn(email)
		// The CSRF token changed with the privilege level too.
		victim.get("/profile")
		if victim.csrf == csrfBefore {
			t.Error("the CSRF token seen before login is still the session's token")
		}
	})
}

// ASVS 5.0 7.4.1: logout ends the session on the server.
func TestLogout_CopiedCookieIsDead(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		c.mustBeSignedIn(email)
		copied := c.token()

		r := c.post("/logout", nil)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
			t.Fatalf("logout: %d → %q, want 303 → /login", r.status, r.header.Get("Location"))
		}
		if got, want := r.header.Get("Clear-Site-Data"), `"cache", "cookies", "storage"`; got != want {
			t.Errorf("Clear-Site-Data = %q, want %q", got, want)
		}
		if len(r.setCookie) != 1 || r.setCookie[0].MaxAge >= 0 || !strings.Contains(r.setCookie[0].Raw, "Max-Age=0") {
			t.Errorf("logout Set-Cookie = %v, want the session cookie expired with Max-Age=0", r.header.Values("Set-Cookie"))
		}
		if c.token() != "" {
			t.Error("the client still holds a session cookie after logout")
		}
		if app.env.has(t, copied) {
			t.Error("the store still holds the logged-out session")
		}

		thief := app.newClient()
		thief.setToken(copied)
		thief.mustBeAnonymous()
	})
}

func TestLogout_GetChangesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		if r := c.get("/logout"); r.status != http.StatusMethodNotAllowed {
			t.Errorf("GET /logout: %d, want 405", r.status)
		}
		c.mustBeSignedIn(email)
	})
}

// ASVS 5.0 7.3.1, 7.3.2: idle timeout and absolute lifetime, enforced by
// the server. Short settings that still keep a request's round trip under
// load well inside them: idle 1 s, lifetime 2 s.
func TestTimeouts_IdleAndAbsoluteEndTheSession(t *testing.T) {
	const idle, lifetime = time.Second, 2 * time.Second
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.IdleTimeout = idle
			c.Lifetime = lifetime
		})
		email, pw := newUser()
		app.newClient().signup(email, pw)

		t.Run("idle", func(t *testing.T) {
			c := app.newClient()
			c.login(email, pw)
			kept := c.token()
			time.Sleep(idle + 100*time.Millisecond) // from the last request
			c.mustBeAnonymous()
			if app.env.has(t, kept) {
				t.Error("the store still holds the idle session")
			}
		})

		t.Run("absolute", func(t *testing.T) {
			c := app.newClient()
			c.login(email, pw)
			loggedIn := time.Now() // the session began before this
			// Active every quarter of the idle timeout until well past it:
			// the idle timeout never fires...
			for time.Since(loggedIn) < idle+200*time.Millisecond {
				time.Sleep(idle / 4)
				c.mustBeSignedIn(email)
			}
			// ...but the lifetime does.
			time.Sleep(time.Until(loggedIn.Add(lifetime + 100*time.Millisecond)))
			c.mustBeAnonymous()
		})
	})
}

// ASVS 5.0 3.5.1, 3.5.3: CSRF on every state-changing form.
func TestCSRF_ForgedPostsAreRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)

		tests := []struct {
			name    string
			form    url.Values
			headers []string
		}{
			{"no token", url.Values{"csrf_token": nil}, nil},
			{"wrong token", url.Values{"csrf_token": {randomToken()}}, nil},
			{"cross-site fetch metadata", url.Values{}, []string{"Sec-Fetch-Site", "cross-site"}},
			{"foreign Origin", url.Values{}, []string{"Origin", "https://attacker.example"}},
		}
		for _, tt := range tests {
			t.Run("login/"+tt.name, func(t *testing.T) {
				c := app.newClient()
				c.get("/login")
				form := url.Values{"email": {email}, "password": {pw}}
				for k, v := range tt.form {
					form[k] = v
				}
				r := c.post("/login", form, tt.headers...)
				if r.status != http.StatusForbidden {
					t.Fatalf("got %d, want 403", r.status)
				}
				c.mustBeAnonymous()
			})
			t.Run("logout/"+tt.name, func(t *testing.T) {
				c := app.newClient()
				c.login(email, pw)
				c.get("/profile")
				r := c.post("/logout", tt.form, tt.headers...)
				if r.status != http.StatusForbidden {
					t.Fatalf("got %d, want 403", r.status)
				}
				c.mustBeSignedIn(email)
			})
		}
		t.Run("signup/no token", func(t *testing.T) {
			c := app.newClient()
			other, pw2 := newUser()
			r := c.post("/signup", url.Values{"email": {other}, "password": {pw2}, "csrf_token": nil})
			if r.status != http.StatusForbidden {
				t.Fatalf("got %d, want 403", r.status)
			}
			c.get("/login")
			if r := c.post("/login", url.Values{"email": {other}, "password": {pw2}}); r.status != http.StatusUnauthorized {
				t.Errorf("the refused signup created an account: login got %d, want 401", r.status)
			}
		})
	})
}

// ASVS 5.0 6.3.8: a wrong email and a wrong password look the same.
func TestLogin_UnknownEmailAndWrongPasswordAnswerTheSame(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		stranger, _ := newUser()

		c := app.newClient()
		c.get("/login")
		wrongPw := c.post("/login", url.Values{"email": {email}, "password": {pw + "x"}})
		unknown := c.post("/login", url.Values{"email": {stranger}, "password": {pw}})
		for name, r := range map[string]*response{"wrong password": wrongPw, "unknown email": unknown} {
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s: %d, want 401", name, r.status)
			}
		}
		if wrongPw.body != unknown.body {
			t.Errorf("bodies differ:\n--- wrong password\n%s\n--- unknown email\n%s", wrongPw.body, unknown.body)
		}
		if !strings.Contains(unknown.body, "Email or password is incorrect.") {
			t.Error("the failure page does not say what went wrong")
		}
		c.mustBeAnonymous()
	})
}

// ASVS 5.0 6.2.1, 6.2.8: 8 characters to 72 bytes; never truncated.
func TestPasswords_LengthLimitsAtSignupAndLogin(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		p72 := strings.Repeat("p", 71) + "!"
		p73 := p72 + "x"

		email, _ := newUser()
		c := app.newClient()
		c.signup(email, p72)
		c.post("/logout", nil)
		c.login(email, p72)
		c.post("/logout", nil)

		// 73 bytes sharing the first 72: bcrypt alone would accept it.
		c.get("/login")
		r := c.post("/login", url.Values{"email": {email}, "password": {p73}})
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "limited to 72 bytes") {
			t.Errorf("login with 73 bytes: %d, want 422 with a clear message", r.status)
		}
		c.mustBeAnonymous()

		for name, pw := range map[string]string{"73 bytes": p73, "7 characters": "1234567"} {
			other, _ := newUser()
			c.get("/signup")
			r := c.post("/signup", url.Values{"email": {other}, "password": {pw}})
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("signup with %s: %d, want 422", name, r.status)
			}
			if !strings.Contains(r.body, `value="`+other+`"`) {
				t.Errorf("signup with %s: the form does not keep the email", name)
			}
			c.get("/login")
			if r := c.post("/login", url.Values{"email": {other}, "password": {"12345678"}}); r.status != http.StatusUnauthorized {
				t.Errorf("signup with %s created an account (login got %d)", name, r.status)
			}
		}
	})
}

func TestSignup_InvalidInputIsRefusedAndNothingStored(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		tests := []struct{ name, email, wantMsg string }{
			{"empty email", "", "Enter your email address."},
			{"no at sign", "not-an-email", "Enter an email address like name@example.com."},
			{"taken, other case and spaces", "  " + strings.ToUpper(email) + " ", "already exists"},
		}
		for _, tt := range tests {
			c := app.newClient()
			c.get("/signup")
			r := c.post("/signup", url.Values{"email": {tt.email}, "password": {"a-long-enough-password"}})
			if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tt.wantMsg) {
				t.Errorf("%s: %d, want 422 with %q", tt.name, r.status, tt.wantMsg)
			}
			c.mustBeAnonymous()
		}
		var n int
		if err := app.env.db.SQL.QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil || n != 1 {
			t.Errorf("users stored = %d (err %v), want 1", n, err)
		}
	})
}

func TestLogin_NextIsFollowedOnlyWithinTheSite(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		tests := []struct{ next, want string }{
			{"/profile", "/profile"},
			{"/?tab=practices", "/?tab=practices"},
			{"//attacker.example/", "/profile"},
			{`/\attacker.example`, "/profile"},
			{"https://attacker.example/", "/profile"},
			{"javascript:alert(1)", "/profile"},
			{"profile", "/profile"},
			{"/\r\nSet-Cookie:x=y", "/profile"},
		}
		for _, tt := range tests {
			c := app.newClient()
			c.get("/login?next=" + url.QueryEscape(tt.next))
			r := c.post("/login", url.Values{"email": {email}, "password": {pw}, "next": {tt.next}})
			if r.status != http.StatusSeeOther || r.header.Get("Location") != tt.want {
				t.Errorf("next=%q: %d → %q, want 303 → %q", tt.next, r.status, r.header.Get("Location"), tt.want)
			}
		}
		// An anonymous visit to /profile comes back there after login.
		c := app.newClient()
		c.mustBeAnonymous()
		login := c.get("/login?next=/profile")
		if !strings.Contains(login.body, `name="next" value="/profile"`) {
			t.Fatal("the login form does not carry next")
		}
	})
}

// ASVS 5.0 14.3.2: nothing that depends on the session is cached.
func TestCacheControl_NoStoreOnSessionPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		pages := map[string]*response{
			"GET /profile":          c.get("/profile"),
			"GET /":                 c.get("/"),
			"GET /sessions":         c.get("/sessions"),
			"GET /account/password": c.get("/account/password"),
			"POST /logout":          c.post("/logout", nil),
			"GET /login":            c.get("/login"),
			"POST /login":           c.post("/login", url.Values{"email": {email}, "password": {pw}}),
		}
		for name, r := range pages {
			if got := r.header.Values("Cache-Control"); len(got) != 1 || got[0] != "no-store" {
				t.Errorf("%s: Cache-Control = %q, want exactly no-store", name, got)
			}
		}
	})
}

// ASVS 5.0 7.4.4: a logout control on every signed-in page.
func TestSignedInPages_AllCarryALogoutForm(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		for _, path := range []string{"/", "/profile", "/sessions", "/account/password"} {
			r := c.get(path)
			if r.status != http.StatusOK {
				t.Errorf("GET %s: %d, want 200", path, r.status)
				continue
			}
			i := strings.Index(r.body, `<form class="logout" method="post" action="/logout">`)
			if i < 0 || !strings.Contains(r.body[i:], `name="csrf_token" value="`+c.csrf+`"`) {
				t.Errorf("GET %s: no POST /logout form carrying the CSRF token", path)
			}
		}
	})
}

// Fail closed: with the session store unreachable, nobody is signed in.
func TestStoreDown_AnswersServiceUnavailableNeverSignedIn(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			app := newApp(t, b)
			email, pw := newUser()
			c := app.newClient()
			c.signup(email, pw)
			c.mustBeSignedIn(email)

			// The same app, its Redis now a closed port.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			closed := "redis://" + ln.Addr().String() + "/0"
			ln.Close()
			up := app.ts.Config.Handler
			app.ts.Config.Handler = app.handler(appOptions{config: []func(*config.Config){func(c *config.Config) { c.RedisURL = closed }}})

			c.hc.Timeout = 3 * time.Second // a hang fails the test
			for _, path := range []string{"/profile", "/login", "/readyz"} {
				r := c.get(path)
				if r.status != http.StatusServiceUnavailable {
					t.Errorf("GET %s with Redis down: %d, want 503", path, r.status)
				}
				for _, leak := range []string{"redis", "dial", "refused", email} {
					if strings.Contains(strings.ToLower(r.body), leak) {
						t.Errorf("GET %s with Redis down: the page mentions %q", path, leak)
					}
				}
			}
			r := c.post("/logout", nil)
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("POST /logout with Redis down: %d, want 503", r.status)
			}
			if !strings.Contains(app.logs.String(), "dependency unavailable") {
				t.Error("the outage was not logged")
			}

			// Redis back: the same cookie works again.
			app.ts.Config.Handler = up
			c.mustBeSignedIn(email)
		})
	}
}

func TestReadyz_AnswersWhenDependenciesDo(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		c := app.newClient()
		if r := c.get("/readyz"); r.status != http.StatusOK {
			t.Errorf("GET /readyz: %d, want 200", r.status)
		}
		if r := c.get("/healthz"); r.status != http.StatusOK {
			t.Errorf("GET /healthz: %d, want 200", r.status)
		}
		app.env.db.Close()
		if r := c.get("/readyz"); r.status != http.StatusServiceUnavailable {
			t.Errorf("GET /readyz with the database closed: %d, want 503", r.status)
		}
	})
}

func TestBodyLimit_LargeFormIsRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		c := app.newClient()
		c.get("/signup")
		email, _ := newUser()
		r := c.post("/signup", url.Values{"email": {email}, "password": {strings.Repeat("a", 1<<20)}})
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("1 MiB form: %d, want 413", r.status)
		}
		var n int
		if err := app.env.db.SQL.QueryRow("SELECT count(*) FROM users").Scan(&n); err != nil || n != 0 {
			t.Errorf("users stored = %d (err %v), want 0", n, err)
		}
	})
}

// signedInOnPrivateRedis starts a redis-server of the test's own, the app
// on it, and a client signed in (with a 3 s timeout: a hang fails).
func signedInOnPrivateRedis(t *testing.T) (*testenv.RedisServer, *testApp, *client, string, string) {
	t.Helper()
	srv := testenv.StartRedisServer(t)
	b := backend{name: "redis", open: func(t *testing.T) *storeEnv {
		return redisStoreEnv(t, srv.URL(), redisdb.DefaultNamespace)
	}}
	app := newApp(t, b)
	email, pw := newUser()
	c := app.newClient()
	c.signup(email, pw)
	c.mustBeSignedIn(email)
	c.hc.Timeout = 3 * time.Second
	return srv, app, c, email, pw
}

// Fail closed, for real: the app's Redis stops mid-run, then comes back.
// While it is down nobody is treated as signed in; once it is back the app
// recovers by itself (Redis kept nothing, so users sign in again).
func TestRedisStoppedMidRun_ServiceUnavailableThenRecovers(t *testing.T) {
	srv, _, c, email, pw := signedInOnPrivateRedis(t)

	srv.Stop()
	for i := 0; i < 3; i++ {
		for _, path := range []string{"/profile", "/readyz"} {
			r := c.get(path)
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("GET %s with Redis stopped: %d, want 503", path, r.status)
			}
			if strings.Contains(r.body, email) || strings.Contains(strings.ToLower(r.body), "redis") {
				t.Errorf("GET %s with Redis stopped shows the user or internals", path)
			}
		}
	}

	srv.Start() // returns once the server answers
	// The refused requests dropped the pool's dead connections, and a
	// fresh one reaches the restarted server: the first request recovers.
	if r := c.get("/readyz"); r.status != http.StatusOK {
		t.Fatalf("GET /readyz once Redis is back: %d, want 200", r.status)
	}
	c.mustBeAnonymous() // the restarted Redis kept no sessions
	c.login(email, pw)
	c.mustBeSignedIn(email)
}

// countSessions is how many session entries the store holds.
func (e *storeEnv) countSessions(t *testing.T) int {
	t.Helper()
	if e.redisURL != "" {
		conn := mustRedis(t, e.redisURL)
		defer conn.Close()
		return len(testenv.RedisKeys(t, conn, e.prefix+"session:"))
	}
	var n int
	if err := e.db.SQL.QueryRow("SELECT count(*) FROM sessions").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// Resources: anonymous visitors cost no store write. 1,500 cookie-less
// GETs of the public pages and the forms, and 500 with dead cookies, leave
// at most 50 new entries (here: none); the forms still work after.
func TestAnonymousVisitors_CostNoStoreWrite(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		before := app.env.countSessions(t)
		pages := []string{"/", "/login", "/signup", "/practices/cookie"}
		for i := range 1500 {
			c := app.newClient()
			if r := c.get(pages[i%len(pages)]); r.status != http.StatusOK || len(r.setCookie) != 0 {
				t.Fatalf("GET %s: %d, session cookies set: %d", pages[i%len(pages)], r.status, len(r.setCookie))
			}
		}
		for i := range 500 {
			c := app.newClient()
			c.setToken(randomToken()) // dead: expired, revoked or made up
			if r := c.get(pages[i%len(pages)]); r.status != http.StatusOK || !strings.Contains(r.body, "Your session has ended") {
				t.Fatalf("GET %s with a dead cookie: %d, want 200 saying the session ended", pages[i%len(pages)], r.status)
			}
		}
		if added := app.env.countSessions(t) - before; added > 50 {
			t.Errorf("%d store entries added by anonymous visitors, want at most 50", added)
		} else if added != 0 {
			t.Logf("%d store entries added by anonymous visitors", added)
		}
		email, pw := newUser()
		app.newClient().signup(email, pw)
		app.newClient().login(email, pw)
	})
}

// Quiet logs in an outage: with Redis stopped, 600 refused requests leave
// a handful of log lines (the first failure, then one per interval), not
// one each; and one line says when it recovered.
func TestRedisOutage_LoggedOnceNotPerRequest(t *testing.T) {
	srv, app, c, _, _ := signedInOnPrivateRedis(t)
	before := strings.Count(app.logs.String(), "\n")

	srv.Stop()
	const refused = 600
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			for range refused / 6 {
				req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/profile", nil)
				req.AddCookie(&http.Cookie{Name: cookieName, Value: c.token()})
				if res, err := c.hc.Do(req); err == nil {
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusServiceUnavailable {
						t.Errorf("GET /profile with Redis stopped: %d, want 503", res.StatusCode)
					}
				}
			}
		})
	}
	wg.Wait()
	outageLines := strings.Count(app.logs.String(), "\n") - before
	if outageLines > 10 {
		t.Errorf("%d refused requests wrote %d log lines, want at most 10", refused, outageLines)
	}

	lastRefused := time.Now()
	srv.Start()
	// The recovery line waits for a second without failures (the outage
	// log's rule): the first request after it writes the line.
	time.Sleep(time.Until(lastRefused.Add(time.Second + 50*time.Millisecond)))
	c.get("/")
	if !strings.Contains(app.logs.String(), "dependency recovered") {
		t.Error("no recovery line after a second without failures")
	}
}
