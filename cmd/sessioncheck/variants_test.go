package main

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// variant is a deployment with exactly one protection removed, and the
// checks that must fail against it — those and no others.
type variant struct {
	name string
	// app is the app it runs in front of: "" the shared one (SQLite,
	// behind the proxy), "no-throttle", "no-ip-binding", "tls".
	app   string
	proxy func(p *proxy) // nil: no proxy, the app itself
	tls   bool           // the proxy serves https
	args  []string       // more flags
	fails []string
}

// variantArgs are the flags every variant runs with: every opt-in check
// that is quick (-throttle and -idle where they are the point).
var variantArgs = []string{"-revoke", "-password-change", "-source-ip", "127.0.0.2", "-keep-account", "-deadline", "2m"}

var variants = []variant{
	{name: "unchanged", proxy: func(*proxy) {}, args: []string{"-throttle"}},

	// Cookie attributes.
	{name: "cookie without __Host- prefix", fails: []string{"cookie-host-prefix"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, _ http.ResponseWriter, r *http.Request, _ *inbound) bool {
			if c, err := r.Cookie("session"); err == nil {
				setRequestCookie(r, "session", "")
				setRequestCookie(r, sessionCookie, c.Value)
			}
			return false
		}
		p.out = func(_ *proxy, _ *inbound, res *http.Response) {
			editSetCookies(res.Header, sessionCookie, func(c *http.Cookie) *http.Cookie { c.Name = "session"; return c })
		}
	}},
	{name: "Secure off", fails: []string{"cookie-secure"}, proxy: editSession(func(c *http.Cookie) { c.Secure = false })},
	{name: "HttpOnly off", fails: []string{"cookie-httponly"}, proxy: editSession(func(c *http.Cookie) { c.HttpOnly = false })},
	{name: "SameSite=Lax", fails: []string{"cookie-samesite"}, proxy: editSession(func(c *http.Cookie) { c.SameSite = http.SameSiteLaxMode })},
	{name: "Domain set", fails: []string{"cookie-path-domain"}, proxy: editSession(func(c *http.Cookie) { c.Domain = "localhost" })},
	{name: "persistent cookie without keep me signed in", fails: []string{"cookie-not-persistent"}, proxy: editSession(func(c *http.Cookie) {
		if c.Value != "" && c.MaxAge == 0 && c.Expires.IsZero() {
			c.MaxAge = 3600
		}
	})},
	{name: "remembered cookie outlives the session", fails: []string{"cookie-remember"}, proxy: editSession(func(c *http.Cookie) {
		if c.MaxAge > 0 {
			c.MaxAge, c.Expires = 30*24*3600, time.Time{}
		}
	})},

	// Fixation.
	{name: "no renewal at login", fails: []string{"renewal-at-login"}, proxy: noRenewal},
	{name: "planted token adopted", fails: []string{"fixation-planted"}, proxy: adoptPlanted},

	// Logout.
	{name: "logout only expires the cookie", fails: []string{"logout-destroys"}, proxy: logoutExpiresOnly},
	{name: "logout leaves the cookie", fails: []string{"logout-expires-cookie"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, ib *inbound, res *http.Response) {
			if ib.method == http.MethodPost && ib.path == "/logout" {
				editSetCookies(res.Header, sessionCookie, func(*http.Cookie) *http.Cookie { return nil })
			}
		}
	}},
	{name: "no Clear-Site-Data", fails: []string{"logout-clear-site-data"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) { res.Header.Del("Clear-Site-Data") }
	}},
	{name: "GET /logout logs out", fails: []string{"logout-get-harmless"}, proxy: getLogout},

	// CSRF.
	{name: "no CSRF token check", fails: []string{"csrf-no-token", "csrf-wrong-token"}, proxy: func(p *proxy) {
		p.in = func(p *proxy, _ http.ResponseWriter, r *http.Request, ib *inbound) bool {
			if r.Method == http.MethodPost {
				if valid := p.validToken(r); valid != "" && ib.form.Get("csrf_token") != valid {
					ib.form.Set("csrf_token", valid)
					setForm(r, ib)
				}
			}
			return false
		}
	}},
	{name: "Sec-Fetch-Site ignored", fails: []string{"csrf-cross-site"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, _ http.ResponseWriter, r *http.Request, _ *inbound) bool {
			r.Header.Del("Sec-Fetch-Site")
			return false
		}
	}},
	{name: "Origin ignored", fails: []string{"csrf-foreign-origin"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, _ http.ResponseWriter, r *http.Request, _ *inbound) bool {
			r.Header.Del("Origin")
			return false
		}
	}},

	// Headers.
	{name: "profile cacheable", fails: []string{"no-store"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, ib *inbound, res *http.Response) {
			if ib.path == "/profile" {
				res.Header.Set("Cache-Control", "private, max-age=600")
			}
		}
	}},
	{name: "CSP with unsafe-inline", fails: []string{"csp"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) {
			csp := res.Header.Get("Content-Security-Policy")
			res.Header.Set("Content-Security-Policy", strings.Replace(csp, "script-src 'self'", "script-src 'self' 'unsafe-inline'", 1))
		}
	}},
	{name: "no nosniff", fails: []string{"security-headers"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) { res.Header.Del("X-Content-Type-Options") }
	}},
	{name: "no frame-ancestors", fails: []string{"frame-ancestors"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) {
			csp := res.Header.Get("Content-Security-Policy")
			res.Header.Set("Content-Security-Policy", strings.Replace(csp, "frame-ancestors 'none'; ", "", 1))
			res.Header.Del("X-Frame-Options")
		}
	}},
	{name: "HSTS dropped", app: "tls", tls: true, fails: []string{"hsts"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) { res.Header.Del("Strict-Transport-Security") }
	}},

	// Tokens.
	{name: "token in a page", fails: []string{"token-not-exposed"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, ib *inbound, res *http.Response) {
			if ib.path == "/profile" && res.StatusCode == http.StatusOK && ib.cookie != "" {
				editBody(res, func(b []byte) []byte {
					return bytes.Replace(b, []byte("</body>"), []byte("<!-- session "+ib.cookie+" --></body>"), 1)
				})
			}
		}
	}},
	{name: "token in Location", fails: []string{"token-not-exposed"}, proxy: func(p *proxy) {
		p.out = func(_ *proxy, ib *inbound, res *http.Response) {
			if tok := sessionValue(res.Header); ib.path == "/login" && tok != "" && res.Header.Get("Location") != "" {
				res.Header.Set("Location", res.Header.Get("Location")+"?sid="+tok)
			}
		}
	}},
	{name: "64-bit tokens", fails: []string{"token-entropy"}, proxy: shortTokens},

	// Authentication.
	{name: "login tells unknown emails apart", fails: []string{"login-no-enumeration"}, proxy: enumeration},
	{name: "passwords truncated to 72 bytes", fails: []string{"password-73-bytes"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, _ http.ResponseWriter, r *http.Request, ib *inbound) bool {
			if pw := ib.form.Get("password"); (ib.path == "/login" || ib.path == "/signup") && len(pw) > 72 {
				ib.form.Set("password", pw[:72])
				setForm(r, ib)
			}
			return false
		}
	}},
	{name: "no login throttle", app: "no-throttle", args: []string{"-throttle", "-throttle-attempts", "12"}, fails: []string{"throttle"}},

	// Opt-in checks.
	{name: "no IP binding", app: "no-ip-binding", fails: []string{"ip-binding"}},
	{name: "idle timeout longer than -idle", proxy: func(*proxy) {}, args: []string{"-idle", "1s"}, fails: []string{"idle-timeout"}},
	{name: "revocation ignored", fails: []string{"revoke-session"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, w http.ResponseWriter, r *http.Request, _ *inbound) bool {
			if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/sessions/") {
				w.Header().Set("Location", "/sessions")
				w.WriteHeader(http.StatusSeeOther)
				return true
			}
			return false
		}
	}},
	{name: "password change keeps other sessions", fails: []string{"password-change"}, proxy: func(p *proxy) {
		p.in = func(_ *proxy, _ http.ResponseWriter, r *http.Request, ib *inbound) bool {
			if ib.path == "/account/password" && ib.form != nil {
				ib.form.Del("sign_out_others")
				setForm(r, ib)
			}
			return false
		}
	}},
	{name: "password change keeps the token", fails: []string{"password-change"}, proxy: func(p *proxy) {
		p.out = func(p *proxy, ib *inbound, res *http.Response) {
			if n := sessionValue(res.Header); ib.method == http.MethodPost && ib.path == "/account/password" && n != "" && ib.cookie != "" && n != ib.cookie {
				p.tokens.link(ib.cookie, n)
			}
		}
	}},
}

// editSession rewrites every Set-Cookie of the session cookie.
func editSession(f func(c *http.Cookie)) func(p *proxy) {
	return func(p *proxy) {
		p.out = func(_ *proxy, _ *inbound, res *http.Response) {
			editSetCookies(res.Header, sessionCookie, func(c *http.Cookie) *http.Cookie { f(c); return c })
		}
	}
}

// noRenewal emulates a server that gives anonymous visitors a session
// token and keeps it at login: the proxy hands out a token of its own on
// the login and sign-up pages, and when that token logs in, re-sets it
// instead of the app's new one (and translates it from then on).
func noRenewal(p *proxy) {
	p.out = func(p *proxy, ib *inbound, res *http.Response) {
		anonPage := ib.method == http.MethodGet && (ib.path == "/login" || ib.path == "/signup")
		switch {
		case anonPage && ib.cookie == "" && res.StatusCode == http.StatusOK:
			tok := randomToken(43)
			p.tokens.addPending(tok)
			res.Header.Add("Set-Cookie", (&http.Cookie{Name: sessionCookie, Value: tok, Path: "/",
				Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}).String())
		case ib.method == http.MethodPost && (ib.path == "/login" || ib.path == "/signup") && p.tokens.isPending(ib.cookie):
			if n := sessionValue(res.Header); n != "" {
				p.tokens.link(ib.cookie, n)
			}
		}
	}
}

// adoptPlanted emulates a server that accepts whatever token a login
// request carries (no strict mode, no renewal).
func adoptPlanted(p *proxy) {
	p.out = func(p *proxy, ib *inbound, res *http.Response) {
		if n := sessionValue(res.Header); ib.method == http.MethodPost && ib.path == "/login" && ib.cookie != "" && n != "" && n != ib.cookie {
			p.tokens.link(ib.cookie, n)
		}
	}
}

// shortTokens replaces every token the app issues with 64 random bits.
func shortTokens(p *proxy) {
	p.out = func(p *proxy, _ *inbound, res *http.Response) {
		if n := sessionValue(res.Header); n != "" {
			p.tokens.mu.Lock()
			_, known := p.tokens.a2c[n]
			p.tokens.mu.Unlock()
			if !known {
				p.tokens.link(randomToken(11), n)
			}
		}
	}
}

// logoutExpiresOnly answers a valid logout itself: 303, the cookie
// expired, Clear-Site-Data — and the session left alive in the store.
// Forged logouts still reach the app, which refuses them.
func logoutExpiresOnly(p *proxy) {
	p.in = func(p *proxy, w http.ResponseWriter, r *http.Request, ib *inbound) bool {
		if r.Method != http.MethodPost || r.URL.Path != "/logout" || crossOrigin(r) {
			return false
		}
		if valid := p.validToken(r); valid == "" || ib.form.Get("csrf_token") != valid {
			return false
		}
		h := w.Header()
		h.Add("Set-Cookie", (&http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1,
			Secure: true, HttpOnly: true, SameSite: http.SameSiteStrictMode}).String())
		h.Set("Clear-Site-Data", `"cache", "cookies", "storage"`)
		h.Set("Cache-Control", "no-store")
		h.Set("Location", "/login")
		w.WriteHeader(http.StatusSeeOther)
		return true
	}
}

// getLogout makes GET /logout log out (a POST with the session's token).
func getLogout(p *proxy) {
	p.in = func(p *proxy, w http.ResponseWriter, r *http.Request, _ *inbound) bool {
		if r.Method != http.MethodGet || r.URL.Path != "/logout" {
			return false
		}
		valid := p.validToken(r)
		if valid == "" {
			return false
		}
		req, _ := http.NewRequest(http.MethodPost, p.app.String()+"/logout", strings.NewReader("csrf_token="+valid))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", r.Header.Get("Cookie"))
		res, err := p.side.Do(req)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return true
		}
		defer res.Body.Close()
		for k, vs := range res.Header {
			w.Header()[k] = vs
		}
		w.WriteHeader(res.StatusCode)
		io.Copy(w, res.Body)
		return true
	}
}

// enumeration makes a failed login with an email nobody signed up with
// say so.
func enumeration(p *proxy) {
	p.out = func(p *proxy, ib *inbound, res *http.Response) {
		if ib.method != http.MethodPost {
			return
		}
		email := ib.form.Get("email")
		p.mu.Lock()
		defer p.mu.Unlock()
		switch {
		case ib.path == "/signup" && res.StatusCode == http.StatusSeeOther:
			p.known[email] = true
		case ib.path == "/login" && res.StatusCode == http.StatusUnauthorized && !p.known[email]:
			editBody(res, func(b []byte) []byte {
				return bytes.Replace(b, []byte("Email or password is incorrect."), []byte("No account uses this email address."), 1)
			})
		}
	}
}

// sharedAppEnv is the shared app's configuration: behind the proxy (its
// X-Forwarded-For believed, so IP binding sees the client), with limits
// high enough for every variant's failed logins and sign-ups from one IP,
// and room for two runs hashing at once.
var sharedAppEnv = map[string]string{
	"TRUSTED_PROXIES":    "127.0.0.1/32",
	"LOGIN_IP_LIMIT":     "1000000",
	"SIGNUP_IP_LIMIT":    "1000000",
	"BCRYPT_CONCURRENCY": "2",
	"BCRYPT_WAIT":        "10s",
	"REQUEST_TIMEOUT":    "20s",
}

// variantApp starts the app a variant runs against (see variant.app).
func variantApp(t *testing.T, id string) *app {
	env := map[string]string{}
	for k, v := range sharedAppEnv {
		env[k] = v
	}
	switch id {
	case "no-throttle":
		env["LOGIN_ACCOUNT_LIMIT"] = "100"
		delete(env, "LOGIN_IP_LIMIT")
	case "no-ip-binding":
		env["SESSION_IP_BINDING"] = "off"
		delete(env, "TRUSTED_PROXIES")
	case "tls":
		c := testCert(t)
		env["TLS_CERT"], env["TLS_KEY"] = c.certFile, c.keyFile
	}
	return startApp(t, env)
}

// Each check can fail: against a deployment with exactly one protection
// removed, that check fails — and only the checks that depend on it; every
// other check that runs still passes.
func TestEachCheckFailsWhenItsProtectionIsRemoved(t *testing.T) {
	// The apps, started before the parallel subtests, stopped after them.
	apps := map[string]*app{}
	for _, v := range variants {
		if apps[v.app] == nil {
			apps[v.app] = variantApp(t, v.app)
		}
	}
	covered := map[string]bool{}
	for _, v := range variants {
		for _, f := range v.fails {
			covered[f] = true
		}
	}
	for _, d := range checks {
		if !covered[d.id] {
			t.Errorf("no variant makes %s fail", d.id)
		}
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			target := apps[v.app]
			args := []string{"-url", target.url}
			if v.proxy != nil {
				p := newProxy(t, target, v.tls, v.proxy)
				args = []string{"-url", p.url()}
			}
			if v.app == "tls" {
				args = append(args, "-cacert", testCert(t).certFile)
			}
			args = append(append(args, variantArgs...), v.args...)
			start := time.Now()
			rep := runCheck(t, args...)
			t.Logf("%d requests in %s", rep.Requests, time.Since(start).Round(10*time.Millisecond))
			assertFailures(t, rep, v.fails)
		})
	}
}

// assertFailures checks that exactly the checks in want failed, that every
// other check that ran passed, and that the run completed.
func assertFailures(t *testing.T, rep *report, want []string) {
	t.Helper()
	var failed []string
	for _, r := range rep.Results {
		switch r.Status {
		case statusFail:
			failed = append(failed, r.Check)
			t.Logf("%s FAIL: %s", r.Check, r.Evidence)
		case statusSkip:
			if !expectedSkip(rep, r) {
				t.Errorf("%s skipped: %s", r.Check, r.Evidence)
			}
		}
	}
	want = slices.Clone(want)
	sort.Strings(want)
	sort.Strings(failed)
	if !slices.Equal(failed, want) {
		t.Errorf("failed %q, want exactly %q\n%s", failed, want, table(rep))
	}
	if rep.Incomplete != "" {
		t.Errorf("incomplete run: %s", rep.Incomplete)
	}
	if rep.Passed+rep.Failed+rep.Skipped != len(checks) {
		t.Errorf("%d+%d+%d results, want %d", rep.Passed, rep.Failed, rep.Skipped, len(checks))
	}
}

// expectedSkip: an opt-in check not asked for, or HSTS over plain http.
func expectedSkip(rep *report, r result) bool {
	return strings.HasPrefix(r.Evidence, "opt-in: not requested") ||
		(r.Check == "hsts" && strings.HasPrefix(rep.Target, "http:"))
}
