package server_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
)

// rememberLogin signs in through the form with the "keep me signed in"
// box set to value ("" leaves it out) and returns the login's answer.
func (c *client) rememberLogin(email, password, value string) *response {
	c.t.Helper()
	c.get("/login")
	form := url.Values{"email": {email}, "password": {password}}
	if value != "" {
		form.Set("remember", value)
	}
	return c.post("/login", form)
}

func onlyCookie(t *testing.T, r *response) *http.Cookie {
	t.Helper()
	if len(r.setCookie) != 1 {
		t.Fatalf("%d session Set-Cookie lines, want 1", len(r.setCookie))
	}
	return r.setCookie[0]
}

// OWASP: a session cookie by default — no Max-Age, no Expires — so the
// browser drops it when it closes.
func TestRemember_UntickedTheCookieEndsWithTheBrowser(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		r := c.rememberLogin(email, pw, "")
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		if ck := onlyCookie(t, r); ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Errorf("login cookie has Max-Age %d, Expires %v: want neither", ck.MaxAge, ck.Expires)
		}
		for range 3 {
			for _, ck := range c.get("/profile").setCookie {
				if ck.MaxAge != 0 || !ck.Expires.IsZero() {
					t.Errorf("a later cookie has Max-Age %d, Expires %v", ck.MaxAge, ck.Expires)
				}
			}
		}
	})
}

// Ticked, the cookie carries Max-Age and Expires: more than zero, at most
// the session's idle expiry and its remaining lifetime.
func TestRemember_TickedTheCookieLastsAtMostAsLongAsTheSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.IdleTimeout = 20 * time.Minute
			c.Lifetime = 30 * time.Minute
		})
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		start := time.Now()
		r := c.rememberLogin(email, pw, "on")
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		ck := onlyCookie(t, r)
		idle := int(app.cfg.IdleTimeout / time.Second)
		if ck.MaxAge <= 0 || ck.MaxAge > idle+1 {
			t.Fatalf("Max-Age %d, want 0 < Max-Age ≤ the idle timeout (%d s)", ck.MaxAge, idle)
		}
		if until := time.Until(ck.Expires); until <= 0 || until > app.cfg.IdleTimeout+2*time.Second {
			t.Errorf("Expires %v is %v away, want within the idle timeout", ck.Expires, until)
		}
		for range 3 {
			p := c.get("/profile")
			for _, ck := range p.setCookie {
				if ck.MaxAge <= 0 || float64(ck.MaxAge) > app.cfg.Lifetime.Seconds()-time.Since(start).Seconds()+1 {
					t.Errorf("a later cookie's Max-Age %d is outside (0, remaining lifetime]", ck.MaxAge)
				}
			}
		}
	})
}

// The cookie never outlives the session in the store: between two
// refreshes of the idle expiry (the guard writes nothing when nothing
// changed), scs alone would send now + idle, later than the store's.
func TestRemember_CookieNeverOutlivesTheStoredIdleExpiry(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// Idle 30 s: the expiry is refreshed every 3 s.
		app := newApp(t, b, func(c *config.Config) { c.IdleTimeout = 30 * time.Second })
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		loggedIn := time.Now()
		if r := c.rememberLogin(email, pw, "on"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		time.Sleep(1500 * time.Millisecond) // within the refresh interval
		p := c.get("/profile")
		if len(p.setCookie) == 0 {
			return // no cookie sent: nothing to outlive the session
		}
		ck := p.setCookie[0]
		// The store lets the session go 30 s after the login's write.
		storeLeft := time.Until(loggedIn.Add(app.cfg.IdleTimeout))
		if ck.MaxAge <= 0 || time.Duration(ck.MaxAge)*time.Second > storeLeft+time.Second {
			t.Errorf("Max-Age %d s, but the store keeps the session %v more", ck.MaxAge, storeLeft.Round(time.Millisecond))
		}
		if ck.Expires.After(loggedIn.Add(app.cfg.IdleTimeout).Add(time.Second)) {
			t.Errorf("Expires %v is after the store's expiry %v", ck.Expires, loggedIn.Add(app.cfg.IdleTimeout))
		}
	})
}

// Max-Age is not a timeout: a remembered session still ends at the
// server's idle deadline, whatever the browser keeps.
func TestRemember_SessionStillEndsAtTheServersIdleDeadline(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) { c.IdleTimeout = time.Second })
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		if r := c.rememberLogin(email, pw, "on"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		tok := c.token()
		// The login was the session's last request.
		time.Sleep(app.cfg.IdleTimeout + 100*time.Millisecond)
		kept := app.newClient() // a browser that kept the cookie regardless
		kept.setToken(tok)
		kept.mustBeAnonymous()
	})
}

func TestRemember_AValueOtherThanOnIsRefusedAndNothingStored(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		r := c.rememberLogin(email, pw, "yes")
		if r.status != http.StatusBadRequest {
			t.Fatalf("remember=yes: %d, want 400", r.status)
		}
		if len(r.setCookie) != 0 || c.token() != "" {
			t.Errorf("a session cookie was set on a refused login")
		}
		c.mustBeAnonymous()
	})
}

func TestRemember_TheLoginFormOffersTheBoxAndStatesTheDeadlines(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.IdleTimeout = 7 * time.Minute
			c.Lifetime = 3 * time.Hour
		})
		body := app.newClient().get("/login").body
		for _, want := range []string{`name="remember" value="on"`, "Keep me signed in on this device", "after 7m without activity", "3h after sign-in"} {
			if !strings.Contains(body, want) {
				t.Errorf("the login page lacks %q", want)
			}
		}
	})
}

// The pages describe the cookie from the running configuration: with
// COOKIE_SECURE=false it is "session", not Secure, and they say so.
func TestCookieEvidence_FollowsTheConfiguration(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		for _, secure := range []bool{true, false} {
			app := newApp(t, b, func(c *config.Config) { c.CookieSecure = secure })
			name, attr, notAttr := "__Host-session", "HttpOnly, Secure, SameSite=Strict, Path=/, no Domain", "not Secure"
			if !secure {
				name, attr, notAttr = "session", "HttpOnly, not Secure (COOKIE_SECURE=false), SameSite=Strict, Path=/, no Domain", "__Host-session"
			}
			c := app.newClient()
			home := c.get("/").body
			email, pw := newUser()
			c.signup(email, pw)
			profile := c.get("/profile").body
			for page, body := range map[string]string{"home": home, "profile": profile} {
				if !strings.Contains(body, "<code>"+name+"</code>") || !strings.Contains(body, attr) {
					t.Errorf("secure=%v: the %s page does not describe the cookie as %s: %s", secure, page, name, attr)
				}
				if strings.Contains(body, notAttr) {
					t.Errorf("secure=%v: the %s page says %q", secure, page, notAttr)
				}
			}
		}
	})
}

func TestCookieEvidence_ProfileShowsTheCookiesLifetime(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		plain := app.newClient()
		plain.login(email, pw)
		if body := plain.get("/profile").body; !strings.Contains(body, "a browser-session cookie") || strings.Contains(body, "Max-Age=") {
			t.Errorf("without the box, the profile does not say the cookie is a browser-session cookie")
		}
		kept := app.newClient()
		if r := kept.rememberLogin(email, pw, "on"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		p := kept.get("/profile")
		if !strings.Contains(p.body, "Max-Age=") || !strings.Contains(p.body, "keep me signed in") {
			t.Errorf("with the box, the profile does not show the Max-Age")
		}
	})
}

// /sessions shows relative times, with the exact time on hover.
func TestSessionsPage_RelativeTimesWithTheExactTimeOnHover(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		body := c.get("/sessions").body
		if !regexp.MustCompile(`<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" title="\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC">just now</time>`).MatchString(body) {
			t.Errorf("no relative time with its exact time on hover:\n%s", body)
		}
	})
}
