package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/session"
)

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
			// Each attacker reports its first login with the old password:
			// the change starts once all are under way.
			going := make(chan struct{}, attackers)
			for range attackers {
				wg.Go(func() {
					first := true
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
							if first {
								first = false
								going <- struct{}{}
							}
						}
					}
				})
			}
			timeout := time.After(30 * time.Second)
			for range attackers {
				select {
				case <-going:
				case <-timeout:
					close(stop)
					wg.Wait()
					t.Fatalf("round %d: not every attacker signed in with the old password within 30 s", round)
				}
			}
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
