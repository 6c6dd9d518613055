package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

var (
	revokeFormRE = regexp.MustCompile(`<tr( class="current")?>\s*<td>[^<]*(?:<strong class="tag">this session</strong>)?</td>[\s\S]*?action="/sessions/([^/"]+)/revoke"`)
	deadlineRE   = regexp.MustCompile(`<time id="deadline" datetime="([^"]+)"`)
)

// listed is what /sessions shows: the current session's id and the others'.
func (c *client) listed() (current string, others []string) {
	c.t.Helper()
	r := c.get("/sessions")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /sessions: %d", r.status)
	}
	for _, m := range revokeFormRE.FindAllStringSubmatch(r.body, -1) {
		if m[1] != "" {
			current = m[2]
		} else {
			others = append(others, m[2])
		}
	}
	return current, others
}

func (c *client) deadline() string {
	c.t.Helper()
	m := deadlineRE.FindStringSubmatch(c.get("/profile").body)
	if m == nil {
		c.t.Fatal("the profile does not show the absolute deadline")
	}
	return m[1]
}

// ASVS 5.0 7.5.2: list active sessions and end any of them.
func TestSessions_ListedAndRevokedOneIsAnonymousAtOnce(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)

		page := a.get("/sessions").body
		for _, want := range []string{"Go client", "127.0.0.1", "this session"} {
			if !strings.Contains(page, want) {
				t.Errorf("/sessions does not show %q", want)
			}
		}
		current, others := a.listed()
		if current == "" || len(others) != 1 {
			t.Fatalf("/sessions lists current %q and others %v, want one of each", current, others)
		}
		bCurrent, _ := bc.listed()
		if bCurrent != others[0] {
			t.Fatalf("A sees the other session as %q, B sees itself as %q", others[0], bCurrent)
		}

		r := a.post("/sessions/"+others[0]+"/revoke", nil)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/sessions" {
			t.Fatalf("revoke: %d → %q, want 303 → /sessions", r.status, r.header.Get("Location"))
		}
		bc.mustBeAnonymous()
		a.mustBeSignedIn(email)
		if _, others := a.listed(); len(others) != 0 {
			t.Errorf("after revoking, /sessions still lists %v", others)
		}
		if r := a.post("/sessions/"+others[0]+"/revoke", nil); r.status != http.StatusNotFound {
			t.Errorf("revoking an ended session: %d, want 404", r.status)
		}
	})
}

// Insecure direct object reference: one user cannot end another user's
// session by its id.
func TestSessions_CannotRevokeAnotherUsersSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		victim, attacker := app.newClient(), app.newClient()
		vemail, vpw := newUser()
		aemail, apw := newUser()
		victim.signup(vemail, vpw)
		attacker.signup(aemail, apw)
		victimID, _ := victim.listed()
		attacker.get("/sessions")
		if r := attacker.post("/sessions/"+victimID+"/revoke", nil); r.status != http.StatusNotFound {
			t.Errorf("revoking another user's session: %d, want 404", r.status)
		}
		victim.mustBeSignedIn(vemail)
		attacker.mustBeSignedIn(aemail)
	})
}

func TestSessions_RevokeOthersLeavesOnlyThisOne(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a := app.newClient()
		a.signup(email, pw)
		others := []*client{app.newClient(), app.newClient(), app.newClient()}
		for _, o := range others {
			o.login(email, pw)
		}
		stranger := app.newClient()
		semail, spw := newUser()
		stranger.signup(semail, spw)

		a.get("/sessions")
		if r := a.post("/sessions/revoke-others", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke-others: %d, want 303", r.status)
		}
		for _, o := range others {
			o.mustBeAnonymous()
		}
		a.mustBeSignedIn(email)
		stranger.mustBeSignedIn(semail) // other users are untouched
	})
}

// ASVS 5.0 7.4.3, 7.2.4: password change ends the others and renews this
// token without extending its lifetime.
func TestPasswordChange_SignsOutOthersAndRenewsTokenKeepingDeadline(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		deadline := a.deadline()
		old := a.token()
		time.Sleep(20 * time.Millisecond) // a renewal resetting the deadline would move it

		a.get("/account/password")
		newPw := pw + "-new"
		r := a.post("/account/password", url.Values{"current_password": {pw}, "new_password": {newPw}, "sign_out_others": {"1"}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
			t.Fatalf("password change: %d → %q, want 303 → /profile", r.status, r.header.Get("Location"))
		}
		if a.token() == old || a.token() == "" {
			t.Error("the token was not renewed")
		}
		bc.mustBeAnonymous()
		a.mustBeSignedIn(email)
		if got := a.deadline(); got != deadline {
			t.Errorf("absolute deadline moved from %s to %s", deadline, got)
		}
		thief := app.newClient()
		thief.setToken(old)
		thief.mustBeAnonymous()

		// The new password works, the old one does not.
		c := app.newClient()
		c.get("/login")
		if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusUnauthorized {
			t.Errorf("old password: %d, want 401", r.status)
		}
		c.login(email, newPw)
	})
}

func TestPasswordChange_WithoutSignOutOthersKeepsThem(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		a.get("/account/password")
		if r := a.post("/account/password", url.Values{"current_password": {pw}, "new_password": {pw + "-2"}}); r.status != http.StatusSeeOther {
			t.Fatalf("password change: %d, want 303", r.status)
		}
		bc.mustBeSignedIn(email)
	})
}

// ASVS 5.0 6.2.3, 7.5.1: a wrong current password changes nothing.
func TestPasswordChange_WrongCurrentPasswordChangesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		hash := storedHash(t, app, email)
		tok := a.token()

		a.get("/account/password")
		for name, form := range map[string]url.Values{
			"wrong current":   {"current_password": {pw + "x"}, "new_password": {"brand-new-password"}, "sign_out_others": {"1"}},
			"invalid new":     {"current_password": {pw}, "new_password": {"short"}, "sign_out_others": {"1"}},
			"73-byte current": {"current_password": {strings.Repeat("a", 73)}, "new_password": {"brand-new-password"}},
			"missing current": {"new_password": {"brand-new-password"}},
		} {
			r := a.post("/account/password", form)
			if r.status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d, want 422", name, r.status)
			}
		}
		if storedHash(t, app, email) != hash {
			t.Error("the stored hash changed")
		}
		if a.token() != tok {
			t.Error("the token changed")
		}
		bc.mustBeSignedIn(email)
		a.mustBeSignedIn(email)
	})
}

func storedHash(t *testing.T, app *testApp, email string) string {
	t.Helper()
	var h string
	if err := app.env.db.SQL.QueryRow(app.env.db.Rebind("SELECT password_hash FROM users WHERE email = ?"), email).Scan(&h); err != nil {
		t.Fatal(err)
	}
	app.remember(h, "password hash")
	return h
}

// Re-authentication: past REAUTH_WINDOW, ending sessions asks for the
// password; a right one counts as a fresh authentication (new token).
func TestReauth_RequiredOnlyAfterTheWindow(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		t.Run("within the window", func(t *testing.T) {
			app := newApp(t, b) // REAUTH_WINDOW 10m
			email, pw := newUser()
			a, bc := app.newClient(), app.newClient()
			a.signup(email, pw)
			bc.login(email, pw)
			_, others := a.listed()
			if r := a.post("/sessions/"+others[0]+"/revoke", nil); r.status != http.StatusSeeOther {
				t.Fatalf("revoke without password inside the window: %d, want 303", r.status)
			}
			bc.mustBeAnonymous()
		})
		t.Run("past the window", func(t *testing.T) {
			app := newApp(t, b, func(c *config.Config) { c.ReauthWindow = time.Millisecond })
			email, pw := newUser()
			a, bc := app.newClient(), app.newClient()
			a.signup(email, pw)
			bc.login(email, pw)
			time.Sleep(5 * time.Millisecond)
			_, others := a.listed()
			if !strings.Contains(a.get("/sessions").body, `name="password"`) {
				t.Error("the sessions page does not ask for the password")
			}
			for name, form := range map[string]url.Values{"no password": nil, "wrong password": {"password": {pw + "x"}}} {
				if r := a.post("/sessions/"+others[0]+"/revoke", form); r.status != http.StatusForbidden || !strings.Contains(r.body, "Enter your password") {
					t.Errorf("revoke, %s: %d, want 403 asking for the password", name, r.status)
				}
				if r := a.post("/sessions/revoke-others", form); r.status != http.StatusForbidden {
					t.Errorf("revoke-others, %s: %d, want 403", name, r.status)
				}
			}
			bc.mustBeSignedIn(email)

			before := a.token()
			if r := a.post("/sessions/"+others[0]+"/revoke", url.Values{"password": {pw}}); r.status != http.StatusSeeOther {
				t.Fatalf("revoke with the password: %d, want 303", r.status)
			}
			bc.mustBeAnonymous()
			if a.token() == before {
				t.Error("re-authentication did not renew the token")
			}
			a.mustBeSignedIn(email)
		})
	})
}

// ASVS 5.0 7.4.2: deleting the account ends all its sessions.
func TestAccountDelete_EveryCookieOfTheUserIsAnonymous(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		a := app.newClient()
		a.signup(email, pw)
		storedHash(t, app, email)
		others := []*client{app.newClient(), app.newClient()}
		for _, o := range others {
			o.login(email, pw)
		}

		a.get("/account/password")
		for name, form := range map[string]url.Values{"no password": nil, "wrong password": {"password": {pw + "x"}}} {
			if r := a.post("/account/delete", form); r.status != http.StatusForbidden {
				t.Errorf("delete, %s: %d, want 403", name, r.status)
			}
		}
		a.mustBeSignedIn(email)

		a.get("/account/password")
		r := a.post("/account/delete", url.Values{"password": {pw}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/" {
			t.Fatalf("delete: %d → %q, want 303 → /", r.status, r.header.Get("Location"))
		}
		if len(r.setCookie) != 1 || r.setCookie[0].MaxAge >= 0 {
			t.Error("the session cookie was not expired")
		}
		a.mustBeAnonymous()
		for _, o := range others {
			o.mustBeAnonymous()
		}
		c := app.newClient()
		c.get("/login")
		if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusUnauthorized {
			t.Errorf("login after deletion: %d, want 401", r.status)
		}
	})
}

// The resurrection race: a request of session B is in flight (its session
// already loaded) when A revokes B. When it finishes, scs saves B again —
// the store must not bring it back.
func TestRevoke_RequestInFlightCannotResurrectTheSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// B's slow request is held by a hook once its session is loaded;
		// every write of a session to the store is counted.
		loaded, release := make(chan struct{}), make(chan struct{})
		var mu sync.Mutex
		writes := map[string]int{}
		hooks := session.Hooks{
			Loaded: func(r *http.Request) {
				if r.Header.Get("X-Test-Step") == "slow" {
					close(loaded)
					<-release
				}
			},
			Committed: func(_ context.Context, key string) {
				mu.Lock()
				writes[key]++
				mu.Unlock()
			},
		}
		written := func(key string) int { mu.Lock(); defer mu.Unlock(); return writes[key] }
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) { d.SessionHooks = hooks }})
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		bc.signup(email, pw)
		// B leaves a message for its next page: popping it changes B's
		// session, so B's slow request really writes it back.
		if r := bc.post("/sessions/revoke-others", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke-others: %d", r.status)
		}
		a.login(email, pw)
		bTok := bc.token()
		bKey := session.StoreKey(bTok)
		_, others := a.listed()

		req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/sessions", nil)
		req.Header.Set("X-Test-Step", "slow")
		done := make(chan *response, 1)
		go func() { done <- bc.do(req) }()
		<-loaded // B's session is loaded; its handler has not run

		if r := a.post("/sessions/"+others[0]+"/revoke", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d, want 303", r.status)
		}
		if app.env.has(t, bTok) {
			t.Fatal("the revoked session is still in the store")
		}
		before := written(bKey)
		close(release)
		res := <-done
		// 200 with the message proves B's request ran signed in, with the
		// session it loaded before the revocation.
		if res.status != http.StatusOK || !strings.Contains(res.body, "There were no other sessions to end.") {
			t.Fatalf("in-flight request: %d, want 200 showing the pending message", res.status)
		}
		if written(bKey) <= before {
			t.Fatal("the in-flight request did not write its session: the race was not exercised")
		}
		if app.env.has(t, bTok) {
			t.Error("the in-flight request wrote the revoked session back to the store")
		}
		bc.mustBeAnonymous()
	})
}

// Entries of expired sessions never accumulate: in Redis the registry hash
// expires with its longest-lived session; in SQL, reading prunes them.
func TestRegistry_ExpiredSessionsArePrunedAndLeaveNothingBehind(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.IdleTimeout = time.Second
			c.Lifetime = 2 * time.Second
		})
		email, pw := newUser()
		app.newClient().signup(email, pw)
		const n = 1000
		seen := make(map[string]bool, n)
		for i := 0; i < n; i++ {
			c := app.newClient()
			c.get("/login")
			if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusSeeOther {
				t.Fatalf("login %d: %d", i, r.status)
			}
			seen[c.token()] = true
		}
		// ASVS 5.0 7.2.3: unique tokens.
		if len(seen) != n {
			t.Errorf("%d logins issued %d distinct tokens", n, len(seen))
		}
		time.Sleep(2100 * time.Millisecond)

		if b.name == "redis" {
			conn := mustRedis(t, app.env.redisURL)
			defer conn.Close()
			if keys := testenv.RedisKeys(t, conn, app.env.prefix); len(keys) != 0 {
				t.Errorf("%d Redis keys left after every session expired, e.g. %q", len(keys), keys[0])
			}
		}

		c := app.newClient()
		c.login(email, pw)
		if current, others := c.listed(); current == "" || len(others) != 0 {
			t.Errorf("/sessions lists %d other sessions after they all expired", len(others))
		}
		if b.name != "redis" {
			var rows int
			if err := app.env.db.SQL.QueryRow("SELECT count(*) FROM user_sessions").Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows != 1 {
				t.Errorf("user_sessions holds %d rows, want 1 (the live session)", rows)
			}
		}
	})
}

// redisTTLs is a debugging aid kept small: every key the app writes expires.
func TestRedisKeys_AllExpire(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		a.listed()
		conn := mustRedis(t, app.env.redisURL)
		defer conn.Close()
		keys := testenv.RedisKeys(t, conn, app.env.prefix)
		if len(keys) < 3 {
			t.Fatalf("expected session and registry keys, got %v", keys)
		}
		for _, k := range keys {
			ttl, err := redis.Int64(conn.Do("PTTL", k))
			if err != nil || ttl <= 0 {
				t.Errorf("key %s has PTTL %d (err %v), want an expiry", k, ttl, err)
			}
		}
	}
}

// fromAddr returns a copy of c whose connections come from the loopback
// address ip, as a client on another machine would.
func (c *client) fromAddr(ip string) *client {
	tr := c.hc.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	hc := *c.hc
	hc.Transport = tr
	cp := *c
	cp.hc = &hc
	return &cp
}

// ASVS 5.0 8.2.4: IP binding as documented, and X-Forwarded-For believed
// only from a trusted proxy.
func TestIPBinding_ReplayFromAnotherAddress(t *testing.T) {
	tests := []struct {
		mode       config.IPBinding
		signedIn   bool
		wantsEvent bool
	}{
		{config.IPBindingStrict, false, true},
		{config.IPBindingSubnet, true, false}, // 127.0.0.1 and .2 share a /24
		{config.IPBindingLog, true, true},
		{config.IPBindingOff, true, false},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tt := range tests {
			t.Run(string(tt.mode), func(t *testing.T) {
				app := newApp(t, b, func(c *config.Config) { c.IPBinding = tt.mode })
				email, pw := newUser()
				owner := app.newClient()
				owner.signup(email, pw)

				thief := app.newClient().fromAddr("127.0.0.2")
				thief.setToken(owner.token())
				r := thief.get("/profile")
				if tt.signedIn {
					if r.status != http.StatusOK {
						t.Errorf("replay from 127.0.0.2: %d, want 200", r.status)
					}
				} else {
					if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
						t.Errorf("replay from 127.0.0.2: %d → %q, want 303 → /login", r.status, r.header.Get("Location"))
					}
					if !strings.Contains(thief.get("/login").body, "different network address") {
						t.Error("the login page does not say why")
					}
					owner.mustBeAnonymous() // the session is destroyed, not just refused
				}
				if got := strings.Contains(app.logs.String(), "event=ip.mismatch"); got != tt.wantsEvent {
					t.Errorf("ip.mismatch logged = %v, want %v", got, tt.wantsEvent)
				}
			})
		}

		t.Run("forged X-Forwarded-For from an untrusted peer", func(t *testing.T) {
			app := newApp(t, b) // strict, no trusted proxies
			email, pw := newUser()
			owner := app.newClient()
			owner.signup(email, pw)
			thief := app.newClient().fromAddr("127.0.0.2")
			thief.setToken(owner.token())
			req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/profile", nil)
			req.Header.Set("X-Forwarded-For", "127.0.0.1")
			if r := thief.do(req); r.status != http.StatusSeeOther {
				t.Errorf("forged XFF: %d, want 303 (the header is ignored)", r.status)
			}
		})

		t.Run("X-Forwarded-For from a trusted proxy", func(t *testing.T) {
			app := newApp(t, b, func(c *config.Config) {
				c.TrustedProxies = mustPrefixes(t, "127.0.0.2/32")
			})
			email, pw := newUser()
			owner := app.newClient()
			owner.signup(email, pw) // from 127.0.0.1, not a proxy: bound to 127.0.0.1
			proxy := app.newClient().fromAddr("127.0.0.2")
			proxy.setToken(owner.token())
			for _, tc := range []struct {
				xff  string
				want int
			}{{"127.0.0.1", http.StatusOK}, {"203.0.113.9", http.StatusSeeOther}} {
				req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/profile", nil)
				req.Header.Set("X-Forwarded-For", tc.xff)
				if r := proxy.do(req); r.status != tc.want {
					t.Errorf("via the trusted proxy for %s: %d, want %d", tc.xff, r.status, tc.want)
				}
			}
		})
	})
}

// Every security event of a full flow is logged, each with a user id and
// a short session id; none holds a secret (checked by the harness).
func TestSecurityEvents_AllLoggedWithoutSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) { c.ReauthWindow = time.Millisecond })
		email, pw := newUser()
		a, bc, cc := app.newClient(), app.newClient(), app.newClient()
		a.signup(email, pw)
		storedHash(t, app, email)
		bc.login(email, pw)
		cc.login(email, pw)
		cc.get("/login")
		bad := app.newClient()
		bad.get("/login")
		bad.post("/login", url.Values{"email": {email}, "password": {"wrong-password"}})
		time.Sleep(5 * time.Millisecond)
		_, others := a.listed()
		a.post("/sessions/"+others[0]+"/revoke", url.Values{"password": {pw}})
		a.get("/sessions")
		a.post("/sessions/revoke-others", url.Values{"password": {pw}})
		a.get("/account/password")
		a.post("/account/password", url.Values{"current_password": {pw}, "new_password": {pw + "-2"}, "sign_out_others": {"1"}})
		storedHash(t, app, email)
		thief := app.newClient().fromAddr("127.0.0.2")
		thief.setToken(a.token())
		thief.get("/profile")
		d := app.newClient()
		d.login(email, pw+"-2")
		d.get("/account/password")
		d.post("/account/delete", url.Values{"password": {pw + "-2"}})
		e := app.newClient()
		e.signup(email, pw)
		e.post("/logout", nil)

		logs := app.logs.String()
		for _, ev := range []string{"signup", "login.success", "login.failure", "logout", "token.renewed",
			"session.revoked", "sessions.revoke_others", "password.changed", "account.deleted", "ip.mismatch"} {
			found := false
			for _, line := range strings.Split(logs, "\n") {
				if strings.Contains(line, "event="+ev+" ") {
					found = true
					if ev != "login.failure" && (!strings.Contains(line, "user_id=") || !strings.Contains(line, "session=")) {
						t.Errorf("event %s lacks user_id or session: %s", ev, line)
					}
				}
			}
			if !found {
				t.Errorf("no %s event in the log", ev)
			}
		}
	})
}

// The hot path: a request that changes nothing saves nothing until the
// idle expiry is due to move by a tenth of the idle timeout.
func TestStore_UnchangedSessionIsNotRewrittenOnEveryRequest(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		app := newApp(t, b, func(c *config.Config) { c.IdleTimeout = 3 * time.Second })
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		conn := mustRedis(t, app.env.redisURL)
		defer conn.Close()
		key := app.env.prefix + "session:" + session.StoreKey(c.token())
		expiry := func() int64 {
			ms, err := redis.Int64(conn.Do("PEXPIRETIME", key))
			if err != nil || ms <= 0 {
				t.Fatalf("PEXPIRETIME %s = %d, %v", key, ms, err)
			}
			return ms
		}
		first := expiry()
		c.mustBeSignedIn(email)
		if got := expiry(); got != first {
			t.Errorf("an unchanged request rewrote the session (expiry %d → %d)", first, got)
		}
		time.Sleep(400 * time.Millisecond) // past a tenth of the idle timeout
		c.mustBeSignedIn(email)
		if got := expiry(); got <= first {
			t.Errorf("the idle expiry was not refreshed after %v (still %d)", 400*time.Millisecond, got)
		}
	}
}

// A stolen cookie is no password oracle: wrong passwords at a
// re-authentication prompt count against the same budget as logins.
func TestReauth_WrongPasswordsAreThrottledLikeLogins(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.ReauthWindow = time.Millisecond
			c.LoginAccountLimit = 3
		})
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		time.Sleep(5 * time.Millisecond)
		_, others := a.listed()
		for i := 0; i < 3; i++ {
			if r := a.post("/sessions/revoke-others", url.Values{"password": {"guess-" + itoa(i)}}); r.status != http.StatusForbidden {
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

func itoa(i int) string { return string(rune('0' + i)) }

func TestLogin_RevokedBetweenItsTwoSavesStaysRevoked(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		// Once armed, a login is held by a hook after it saved and
		// registered the new session, before the request ends.
		stop := newArmedStop()
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) { d.SessionHooks = session.Hooks{Registered: stop.hook} }})
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		a.get("/sessions")

		bc.get("/login")
		stop.armed.Store(true)
		done := make(chan *response, 1)
		go func() {
			done <- bc.post("/login", url.Values{"email": {email}, "password": {pw}})
		}()
		<-stop.reached
		if r := a.post("/sessions/revoke-others", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke-others: %d", r.status)
		}
		close(stop.release)
		if r := <-done; r.status != http.StatusSeeOther {
			t.Fatalf("login: %d, want 303", r.status)
		}
		if app.env.has(t, bc.token()) {
			t.Error("the session revoked during login is in the store")
		}
		bc.mustBeAnonymous()
	})
}

// heldRequests holds every request marked X-Test-Step: held once its
// session is loaded, until released, and counts writes per store key.
type heldRequests struct {
	loaded  chan struct{}
	release chan struct{}
	mu      sync.Mutex
	writes  map[string]int
}

func newHeldRequests(n int) *heldRequests {
	return &heldRequests{loaded: make(chan struct{}, n), release: make(chan struct{}), writes: map[string]int{}}
}

func (h *heldRequests) hooks() session.Hooks {
	return session.Hooks{
		Loaded: func(r *http.Request) {
			if r.Header.Get("X-Test-Step") == "held" {
				h.loaded <- struct{}{}
				<-h.release
			}
		},
		Committed: func(_ context.Context, key string) {
			h.mu.Lock()
			h.writes[key]++
			h.mu.Unlock()
		},
	}
}

func (h *heldRequests) written(key string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.writes[key]
}

// startHeld sends n held GETs of path with c's cookie and waits until all
// have loaded their session; the returned function releases them and
// returns their responses.
func (h *heldRequests) startHeld(t *testing.T, c *client, path string, n int) func() []*response {
	done := make(chan *response, n)
	for range n {
		req, _ := http.NewRequest(http.MethodGet, c.app.ts.URL+path, nil)
		req.Header.Set("X-Test-Step", "held")
		req.AddCookie(&http.Cookie{Name: cookieName, Value: c.token()})
		go func() {
			res, err := c.app.ts.Client().Transport.RoundTrip(req)
			if err != nil {
				t.Error(err)
				done <- nil
				return
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			done <- &response{status: res.StatusCode, body: string(body)}
		}()
	}
	for range n {
		<-h.loaded
	}
	return func() []*response {
		close(h.release)
		out := make([]*response, 0, n)
		for range n {
			out = append(out, <-done)
		}
		return out
	}
}

// signedInWithPendingMessage signs c up and leaves a message for its next
// page, so every request that shows it changes the session and saves it.
func signedInWithPendingMessage(t *testing.T, c *client) (email, pw string) {
	email, pw = newUser()
	c.signup(email, pw)
	if r := c.post("/sessions/revoke-others", nil); r.status != http.StatusSeeOther {
		t.Fatalf("revoke-others: %d", r.status)
	}
	return email, pw
}

func TestLogout_RacingASlowRequestOfTheSameSessionStaysLoggedOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		held := newHeldRequests(1)
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) { d.SessionHooks = held.hooks() }})
		c := app.newClient()
		signedInWithPendingMessage(t, c)
		tok := c.token()
		wait := held.startHeld(t, c, "/sessions", 1)
		if r := c.post("/logout", nil); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		before := held.written(session.StoreKey(tok))
		if res := wait()[0]; res == nil || res.status != http.StatusOK {
			t.Fatalf("the slow request: %v, want 200 (it loaded the session before the logout)", res)
		}
		if held.written(session.StoreKey(tok)) <= before {
			t.Fatal("the slow request did not write its session: the race was not exercised")
		}
		if app.env.has(t, tok) {
			t.Error("the slow request brought the logged-out session back")
		}
		c.setToken(tok)
		c.mustBeAnonymous()
	})
}

func TestRevoke_FiftyConcurrentRequestsOfTheSessionCannotKeepItAlive(t *testing.T) {
	const n = 50
	eachBackend(t, func(t *testing.T, b backend) {
		held := newHeldRequests(n)
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) { d.SessionHooks = held.hooks() }})
		victim, owner := app.newClient(), app.newClient()
		email, pw := signedInWithPendingMessage(t, victim)
		owner.login(email, pw)
		tok := victim.token()
		wait := held.startHeld(t, victim, "/sessions", n)
		if r := owner.post("/sessions/revoke-others", nil); r.status != http.StatusSeeOther {
			t.Fatalf("revoke-others: %d", r.status)
		}
		before := held.written(session.StoreKey(tok))
		for _, res := range wait() {
			if res == nil || res.status != http.StatusOK {
				t.Fatalf("a concurrent request: %v, want 200", res)
			}
		}
		if got := held.written(session.StoreKey(tok)) - before; got != n {
			t.Fatalf("%d of %d requests wrote the session back, want all: the race was not exercised", got, n)
		}
		if app.env.has(t, tok) {
			t.Error("the revoked session is back in the store")
		}
		victim.mustBeAnonymous()
	})
}

// A login that checked the old password just before the password changed
// (with "sign out other devices") must not leave a working session, though
// it registers after the change listed the sessions to end.
func TestPasswordChange_WinsAgainstALoginThatCheckedTheOldPassword(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		stop := newArmedStop()
		app := newDefendedApp(t, b, appOptions{deps: func(d *server.Deps) { d.SessionHooks = session.Hooks{Authenticating: stop.hook} }})
		email, oldPW := newUser()
		owner, thief := app.newClient(), app.newClient()
		owner.signup(email, oldPW)
		owner.get("/account/password")

		thief.get("/login")
		stop.armed.Store(true)
		done := make(chan *response, 1)
		go func() { done <- thief.post("/login", url.Values{"email": {email}, "password": {oldPW}}) }()
		<-stop.reached // the old password was accepted; nothing registered yet

		newPW := oldPW + "-new"
		r := owner.post("/account/password", url.Values{"current_password": {oldPW}, "new_password": {newPW}, "sign_out_others": {"on"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("password change: %d, want 303", r.status)
		}
		close(stop.release)
		if r := <-done; r.status == http.StatusSeeOther {
			t.Errorf("the login with the old password succeeded after the change: %d → %s", r.status, r.header.Get("Location"))
		}
		if tok := thief.token(); tok != "" && app.env.has(t, tok) {
			t.Error("the old password's session is in the store")
		}
		thief.mustBeAnonymous()
		owner.mustBeSignedIn(email)
	})
}

// Logins past the cap end the user's oldest sessions; the newest stay.
func TestSessions_CappedPerUserTheOldestEndAtLogin(t *testing.T) {
	const max = 3
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) { c.SessionsPerUser = max })
		email, pw := newUser()
		var clients []*client
		for i := range max + 2 {
			c := app.newClient()
			if i == 0 {
				c.signup(email, pw)
			} else {
				c.login(email, pw)
			}
			clients = append(clients, c)
		}
		for i, c := range clients {
			if i < 2 {
				c.mustBeAnonymous()
			} else {
				c.mustBeSignedIn(email)
			}
		}
		last := clients[len(clients)-1]
		if r := last.get("/sessions"); !strings.Contains(r.body, "At most 3 sessions are kept") {
			t.Error("/sessions does not show the cap")
		}
		if cur, others := last.listed(); cur == "" || len(others)+1 != max {
			t.Errorf("/sessions lists %d other sessions and this one (%q), want %d in all", len(others), cur, max)
		}
	})
}

// Races, ASVS 7.4.3: four clients log in with the old password again and
// again while the owner changes it with "sign out other devices". After
// the change returns, no session authenticated with the old password
// works — repeated, on every store.
func TestPasswordChange_ConcurrentOldPasswordLoginsLeaveNoSurvivor(t *testing.T) {
	const rounds, attackers = 4, 4
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){
			withLimits(100, 100000, time.Hour),
			// The attackers' logins must not end the owner's session by
			// the per-user cap before the change.
			func(c *config.Config) { c.SessionsPerUser = 1000 },
		}})
		for round := range rounds {
			email, oldPW := newUser()
			owner := app.newClient()
			owner.signup(email, oldPW)
			owner.get("/account/password")

			stop := make(chan struct{})
			var mu sync.Mutex
			var tokens []string // every session cookie an attacker was given
			var wg sync.WaitGroup
			for range attackers {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						c := app.newClient()
						r := c.get("/login")
						if r.status != http.StatusOK {
							continue
						}
						form := url.Values{"email": {email}, "password": {oldPW}, "csrf_token": {c.csrf}}
						status, _, _, err := c.rawPost("/login", form)
						if err == nil && status == http.StatusSeeOther {
							mu.Lock()
							tokens = append(tokens, c.token())
							mu.Unlock()
						}
					}
				})
			}
			time.Sleep(30 * time.Millisecond) // let the attackers get going
			r := owner.post("/account/password", url.Values{"current_password": {oldPW}, "new_password": {oldPW + "-new"}, "sign_out_others": {"on"}})
			close(stop)
			wg.Wait()
			if r.status != http.StatusSeeOther {
				t.Fatalf("round %d: password change: %d, want 303\n%s", round, r.status, app.logs.String()[max(0, len(app.logs.String())-6000):])
			}
			survivors := 0
			for _, tok := range tokens {
				c := app.newClient()
				c.setToken(tok)
				if res := c.get("/profile"); res.status == http.StatusOK {
					survivors++
				}
			}
			if survivors > 0 {
				t.Errorf("round %d: %d of %d sessions of the old password still work after the change", round, survivors, len(tokens))
			}
			owner.mustBeSignedIn(email)
		}
	})
}

// armedStop holds the first request that reaches its hook once armed,
// until release is closed; reached is closed when it does.
type armedStop struct {
	armed            atomic.Bool
	reached, release chan struct{}
}

func newArmedStop() *armedStop {
	return &armedStop{reached: make(chan struct{}), release: make(chan struct{})}
}

func (s *armedStop) hook(context.Context) {
	if s.armed.CompareAndSwap(true, false) {
		close(s.reached)
		<-s.release
	}
}

// No lost update: ten concurrent password changes of one account (each
// from its own session, each with the right current password): exactly the
// ones told "changed" are real — one wins, the others are told to try
// again, and the new password that works is the winner's.
func TestPasswordChange_TenConcurrentChangesExactlyOneReportedDone(t *testing.T) {
	const n = 10
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{config: []func(*config.Config){withLimits(100, 1000, time.Hour)}})
		email, pw := newUser()
		clients := make([]*client, n)
		for i := range clients {
			clients[i] = app.newClient()
			if i == 0 {
				clients[i].signup(email, pw)
			} else {
				clients[i].login(email, pw)
			}
			clients[i].get("/account/password")
		}
		statuses := make([]int, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range clients {
			wg.Go(func() {
				<-start
				form := url.Values{"current_password": {pw}, "new_password": {pw + "-" + strconv.Itoa(i)}, "csrf_token": {c.csrf}}
				statuses[i], _, _, _ = c.rawPost("/account/password", form)
			})
		}
		close(start)
		wg.Wait()
		var winners []int
		for i, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				winners = append(winners, i)
			case http.StatusUnprocessableEntity, http.StatusConflict:
			default:
				t.Errorf("change %d: %d, want 303, 422 or 409", i, s)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%d changes were reported done (%v), want exactly 1", len(winners), statuses)
		}
		fresh := app.newClient()
		fresh.login(email, pw+"-"+strconv.Itoa(winners[0]))
		for i := range n {
			if i == winners[0] {
				continue
			}
			c := app.newClient()
			c.get("/login")
			if r := c.post("/login", url.Values{"email": {email}, "password": {pw + "-" + strconv.Itoa(i)}}); r.status != http.StatusUnauthorized {
				t.Errorf("the losing change %d's password: %d, want 401", i, r.status)
			}
		}
	})
}
