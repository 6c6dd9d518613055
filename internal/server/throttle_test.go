package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// throttled checks a 429 as the contract describes it and returns its
// Retry-After.
func throttled(t *testing.T, what string, r *response) time.Duration {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("%s: %d, want 429", what, r.status)
	}
	secs, err := strconv.Atoi(r.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Fatalf("%s: Retry-After = %q, want a number of seconds ≥ 1", what, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.body, "Too many attempts") {
		t.Errorf("%s: the page does not say what happened", what)
	}
	mustHaveSecurityHeaders(t, what, r, true)
	return time.Duration(secs) * time.Second
}

func withLimits(account, ip int, window time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		c.LoginAccountLimit, c.LoginIPLimit, c.ThrottleWindow = account, ip, window
	}
}

// ASVS 5.0 6.3.1: N wrong passwords for one account, then even the right
// one is refused; other accounts from the same IP are held only by the
// IP's own budget.
func TestLogin_ThrottledPerAccountThenPerIP(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// A window far longer than the test: nothing slides out mid-way.
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){withLimits(3, 8, time.Hour)}})
		alice, alicePw := newUser()
		bob, bobPw := newUser()
		carol, carolPw := newUser()
		for _, u := range [][2]string{{alice, alicePw}, {bob, bobPw}, {carol, carolPw}} {
			c := app.newClient()
			c.signup(u[0], u[1])
			c.post("/logout", nil)
		}

		c := app.newClient()
		c.get("/login")
		for i := range 3 {
			if r := c.post("/login", url.Values{"email": {alice}, "password": {"not-the-password-" + strconv.Itoa(i)}}); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password #%d: %d, want 401", i+1, r.status)
			}
		}
		knownBody := c.post("/login", url.Values{"email": {alice}, "password": {"not-the-password-3"}})
		throttled(t, "4th wrong password", knownBody)
		// The right password, and the same account spelled differently.
		throttled(t, "right password while throttled", c.post("/login", url.Values{"email": {alice}, "password": {alicePw}}))
		throttled(t, "right password, email in other case", c.post("/login", url.Values{"email": {" " + strings.ToUpper(alice)}, "password": {alicePw}}))
		c.mustBeAnonymous()

		// An account that does not exist is throttled the same way, with the
		// same page: throttling tells nobody who has an account.
		stranger, _ := newUser()
		for range 3 {
			c.post("/login", url.Values{"email": {stranger}, "password": {"guessed-pw-1"}})
		}
		unknownBody := c.post("/login", url.Values{"email": {stranger}, "password": {"guessed-pw-1"}})
		throttled(t, "unknown email", unknownBody)
		if knownBody.body != unknownBody.body {
			t.Errorf("throttled pages differ:\n--- existing account\n%s\n--- unknown email\n%s", knownBody.body, unknownBody.body)
		}

		// Six failures from this IP so far, under its budget of 8: another
		// account signs in, held by nothing but the IP budget...
		other := app.newClient()
		other.login(bob, bobPw)
		other.post("/logout", nil)
		other.get("/login")
		for range 2 {
			if r := other.post("/login", url.Values{"email": {bob}, "password": {"not-the-password"}}); r.status != http.StatusUnauthorized {
				t.Fatalf("bob's wrong password: %d, want 401", r.status)
			}
		}
		// ...which is now spent: a third account with no failures of its
		// own, and its right password, is refused.
		throttled(t, "fresh account, IP over budget", other.post("/login", url.Values{"email": {carol}, "password": {carolPw}}))
		if !strings.Contains(app.logs.String(), "event=login.throttled") {
			t.Error("throttled logins were not logged as security events")
		}
	})
}

// ASVS 5.0 6.3.1: the refusal lasts until the window has slid past the
// failures, and not for ever. A 2 s window: Retry-After is then 1 to 3 s,
// and the three attempts fit in one window even under load.
func TestLogin_ThrottleLiftsWhenTheWindowPasses(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){withLimits(2, 100, 2*time.Second)}})
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		c.post("/logout", nil)

		c.get("/login")
		c.post("/login", url.Values{"email": {email}, "password": {"not-the-password-1"}})
		c.post("/login", url.Values{"email": {email}, "password": {"not-the-password-2"}})
		wait := throttled(t, "right password after 2 failures", c.post("/login", url.Values{"email": {email}, "password": {pw}}))
		time.Sleep(wait) // as a client honouring Retry-After would
		r := c.post("/login", url.Values{"email": {email}, "password": {pw}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("right password after Retry-After: %d, want 303", r.status)
		}
		c.mustBeSignedIn(email)
	})
}

// ASVS 5.0 4.1.3 (checklist 4.1.3, 15.3.4): X-Forwarded-For from a peer
// that is not a trusted proxy is ignored, so forging it does not buy a
// fresh budget. From a trusted proxy it names the client.
func TestLogin_ForgedForwardedForDoesNotResetTheIPLimit(t *testing.T) {
	tests := []struct {
		name    string
		proxies []string
		forged  bool // whether X-Forwarded-For is an attacker's forgery here
	}{
		{"no trusted proxy", nil, true},
		{"proxies trusted, but not this peer", []string{"10.0.0.0/8"}, true},
		{"this peer is the trusted proxy", []string{"127.0.0.1/32", "::1/128"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, b backend) {
				app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){
					withLimits(100, 3, time.Hour),
					func(c *config.Config) { c.TrustedProxies = mustPrefixes(t, tt.proxies...) },
				}})
				c := app.newClient()
				c.get("/login")
				attempt := func(n int, xff string) *response {
					email, _ := newUser() // a new account each time: only the IP budget applies
					return c.post("/login", url.Values{"email": {email}, "password": {"guessed-pw-" + strconv.Itoa(n)}}, "X-Forwarded-For", xff)
				}
				for i := range 3 {
					if r := attempt(i, "203.0.113."+strconv.Itoa(i+1)); r.status != http.StatusUnauthorized {
						t.Fatalf("attempt %d: %d, want 401", i+1, r.status)
					}
				}
				r := attempt(4, "198.51.100.77")
				if tt.forged {
					throttled(t, "4th failure from one peer with a new X-Forwarded-For", r)
				} else if r.status != http.StatusUnauthorized {
					t.Errorf("a client the trusted proxy names for the first time: %d, want 401 (its own budget)", r.status)
				}
				if !tt.forged {
					// The proxy's clients are counted one by one: the first
					// client's budget is spent after its 3rd failure.
					for i := range 2 {
						attempt(10+i, "203.0.113.1")
					}
					throttled(t, "a client over budget behind the trusted proxy", attempt(12, "203.0.113.1"))
				}
			})
		})
	}
}

// ASVS 5.0 6.3.1 "across replicas": two app instances on one Redis count
// failures together.
func TestLogin_TwoInstancesOnOneRedisShareTheCounts(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			limits := appOptions{config: []func(*config.Config){withLimits(4, 100, time.Hour)}}
			one := newDefendedApp(t, b, limits)
			two := one.sibling(appOptions{})
			email, pw := newUser()
			one.newClient().signup(email, pw)

			c1, c2 := one.newClient(), two.newClient()
			c1.get("/login")
			c2.get("/login")
			for i := range 2 {
				if r := c1.post("/login", url.Values{"email": {email}, "password": {"not-the-password"}}); r.status != http.StatusUnauthorized {
					t.Fatalf("instance one, failure %d: %d, want 401", i+1, r.status)
				}
				if r := c2.post("/login", url.Values{"email": {email}, "password": {"not-the-password"}}); r.status != http.StatusUnauthorized {
					t.Fatalf("instance two, failure %d: %d, want 401", i+1, r.status)
				}
			}
			// 2 + 2 failures: each instance alone has seen only 2 of 4.
			throttled(t, "instance one after 4 failures in all", c1.post("/login", url.Values{"email": {email}, "password": {pw}}))
			throttled(t, "instance two after 4 failures in all", c2.post("/login", url.Values{"email": {email}, "password": {pw}}))

			// Every counter key expires, lives outside the session keys, and
			// does not name the account.
			conn := mustRedis(t, one.env.redisURL)
			defer conn.Close()
			keys := testenv.RedisKeys(t, conn, rateLimitPrefix(one))
			if len(keys) == 0 {
				t.Fatal("no throttling counters in Redis")
			}
			for _, k := range keys {
				ttl, err := redis.Int64(conn.Do("PTTL", k))
				if err != nil || ttl <= 0 {
					t.Errorf("key %s: PTTL %d (err %v), want an expiry", k, ttl, err)
				}
				if strings.Contains(k, email) || strings.Contains(k, "session:") {
					t.Errorf("key %s names the account or sits among the sessions", k)
				}
			}
		})
	}
}

// Sign-ups are limited per client IP.
func TestSignup_ThrottledPerIP(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){func(c *config.Config) {
			c.SignupIPLimit, c.ThrottleWindow = 2, time.Hour
		}}})
		for range 2 {
			email, pw := newUser()
			app.newClient().signup(email, pw)
		}
		c := app.newClient()
		c.get("/signup")
		email, pw := newUser()
		throttled(t, "3rd sign-up from one IP", c.post("/signup", url.Values{"email": {email}, "password": {pw}}))
		c.get("/login")
		if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusUnauthorized {
			t.Errorf("the refused sign-up created an account: login got %d", r.status)
		}
	})
}

// burst sends n POSTs at once, each from its own client (form and
// headers from build), and counts the answers by status.
func burst(t *testing.T, app *testApp, n int, path string, build func(i int) (*client, url.Values, []string)) map[int]int {
	t.Helper()
	type req struct {
		c       *client
		form    url.Values
		headers []string
	}
	reqs := make([]req, n)
	for i := range reqs {
		c, form, headers := build(i)
		form.Set("csrf_token", c.csrf)
		reqs[i] = req{c, form, headers}
	}
	statuses := make([]int, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, r := range reqs {
		wg.Go(func() {
			hr, _ := http.NewRequest(http.MethodPost, app.ts.URL+path, strings.NewReader(r.form.Encode()))
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for j := 0; j+1 < len(r.headers); j += 2 {
				hr.Header.Set(r.headers[j], r.headers[j+1])
			}
			<-start
			res, err := r.c.hc.Do(hr)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			statuses[i] = res.StatusCode
		})
	}
	close(start)
	wg.Wait()
	counts := map[int]int{}
	for _, s := range statuses {
		counts[s]++
	}
	return counts
}

// ASVS 6.3.1, races: a concurrent burst of guesses gets no more password
// checks than the limit — per account (from 20 addresses) and per IP (on
// 40 accounts) — on the in-memory counters and on Redis.
func TestLogin_ConcurrentBurstGetsNoMoreChecksThanTheLimit(t *testing.T) {
	const n, limit = 40, 10
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){
			withLimits(limit, 1000, time.Hour),
			func(c *config.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.1/32") },
		}})
		email, pw := newUser()
		app.newClient().signup(email, pw)
		byAccount := burst(t, app, n, "/login", func(i int) (*client, url.Values, []string) {
			c := app.newClient()
			c.get("/login")
			password := "wrong-guess-" + strconv.Itoa(i)
			if i == n-1 {
				password = pw // the right one, inside the burst
			}
			return c, url.Values{"email": {email}, "password": {password}}, []string{"X-Forwarded-For", "198.51.100." + strconv.Itoa(1+i%20)}
		})
		// A success gives its unit back (only failures count), so the
		// right password may be one check more than the wrong ones.
		if wrong := byAccount[http.StatusUnauthorized]; wrong > limit || wrong+byAccount[http.StatusSeeOther] > limit+1 {
			t.Errorf("one account, %d guesses at once: %v — %d wrong passwords reached the password check, want at most %d", n, byAccount, wrong, limit)
		}

		ipApp := newDefendedApp(t, b, appOptions{config: []func(*config.Config){withLimits(1000, limit, time.Hour)}})
		byIP := burst(t, ipApp, n, "/login", func(i int) (*client, url.Values, []string) {
			c := ipApp.newClient()
			c.get("/login")
			victim, _ := newUser()
			return c, url.Values{"email": {victim}, "password": {"wrong-guess"}}, nil
		})
		if checked := byIP[http.StatusUnauthorized]; checked > limit || byIP[http.StatusTooManyRequests] < n-limit {
			t.Errorf("one IP, %d accounts at once: %v — %d reached the password check, want at most %d", n, byIP, checked, limit)
		}
	})
}

// The re-authentication check has its own budget per session, reserved the
// same way.
func TestReauth_ConcurrentBurstGetsNoMoreChecksThanTheLimit(t *testing.T) {
	const n, limit = 40, 10
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){
			withLimits(limit, 1000, time.Hour),
			func(c *config.Config) { c.ReauthWindow = time.Nanosecond },
		}})
		email, pw := newUser()
		owner := app.newClient()
		owner.signup(email, pw)
		owner.get("/sessions")
		counts := burst(t, app, n, "/sessions/revoke-others", func(i int) (*client, url.Values, []string) {
			return owner, url.Values{"password": {"wrong-guess-" + strconv.Itoa(i)}}, nil
		})
		if checked := counts[http.StatusForbidden]; checked > limit || counts[http.StatusTooManyRequests] < n-limit {
			t.Errorf("%d wrong re-authentications at once: %v — %d reached the password check, want at most %d", n, counts, checked, limit)
		}
	})
}

// ASVS 7.5.2, availability: a thief's failed logins for the owner's email
// spend the account's login budget, not the owner's: the owner, signed
// in, still ends the thief's session and changes the password.
func TestThrottle_ThiefsFailuresNeverLockTheOwnerOut(t *testing.T) {
	const limit = 10
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){
			withLimits(limit, 1000, time.Hour),
			func(c *config.Config) { c.ReauthWindow = time.Nanosecond; c.IPBinding = config.IPBindingLog },
		}})
		email, pw := newUser()
		owner, laptop := app.newClient(), app.newClient()
		owner.signup(email, pw)
		laptop.login(email, pw)
		thief := app.newClient()
		thief.setToken(laptop.token()) // a copied cookie

		guesser := app.newClient()
		guesser.get("/login")
		for i := range limit {
			if r := guesser.post("/login", url.Values{"email": {email}, "password": {"guess-" + strconv.Itoa(i)}}); r.status != http.StatusUnauthorized {
				t.Fatalf("guess %d: %d, want 401", i, r.status)
			}
		}
		throttled(t, "the thief's next guess", guesser.post("/login", url.Values{"email": {email}, "password": {pw}}))
		thief.mustBeSignedIn(email)

		_, others := owner.listed()
		if len(others) != 1 {
			t.Fatalf("owner sees %d other sessions, want 1", len(others))
		}
		if r := owner.post("/sessions/"+others[0]+"/revoke", url.Values{"password": {pw}}); r.status != http.StatusSeeOther {
			t.Fatalf("owner ending the thief's session: %d, want 303", r.status)
		}
		thief.mustBeAnonymous()
		owner.get("/account/password") // the form, with the renewed session's CSRF token
		newPW := pw + "-new"
		if r := owner.post("/account/password", url.Values{"current_password": {pw}, "new_password": {newPW}, "sign_out_others": {"on"}}); r.status != http.StatusSeeOther {
			t.Fatalf("owner changing the password: %d, want 303", r.status)
		}
		owner.mustBeSignedIn(email)
	})
}

// With a proxy range trusted, a client that connects directly (no
// X-Forwarded-For: a health check, a second hop whose addresses are all
// trusted) gets its own address, not an invalid one: it stays signed in
// under IP binding strict.
func TestTrustedProxies_DirectClientStaysSignedIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.TrustedProxies = mustPrefixes(t, "127.0.0.1/32")
			c.IPBinding = config.IPBindingStrict
		})
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		for range 3 {
			c.mustBeSignedIn(email)
		}
	})
}

// A stolen cookie is no password oracle: wrong passwords at a
// re-authentication prompt count against the same budget as logins.
func TestReauth_WrongPasswordsAreThrottledLikeLogins(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.ReauthWindow = time.Nanosecond // over by the next request
			c.LoginAccountLimit = 3
		})
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		_, others := a.listed()
		for i := 0; i < 3; i++ {
			if r := a.post("/sessions/revoke-others", url.Values{"password": {"guess-" + strconv.Itoa(i)}}); r.status != http.StatusForbidden {
				t.Fatalf("wrong password %d: %d, want 403", i+1, r.status)
			}
		}
		r := a.post("/sessions/"+others[0]+"/revoke", url.Values{"password": {pw}})
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Errorf("after 3 wrong passwords, the right one: %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
		}
		a.get("/account/password")
		if r := a.post("/account/password", url.Values{"current_password": {pw}, "new_password": {"another-password"}}); r.status != http.StatusTooManyRequests {
			t.Errorf("password change while throttled: %d, want 429", r.status)
		}
		bc.mustBeSignedIn(email)
	})
}
