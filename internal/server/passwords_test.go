package server_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/users"
)

// CS denial of service: with every bcrypt slot taken, logins are turned
// away at once with a 503 instead of queueing, and signed-in pages (which
// never hash) are served as usual.
func TestHashingSlotsTaken_SignedInPagesServedAndLoginsTurnedAway(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app, slots := newOneSlotApp(t, b)
		email, pw := newUser()
		member := app.newClient()
		member.signup(email, pw)

		const flood = 8
		logins := make([]*client, flood)
		for i := range logins {
			logins[i] = app.newClient()
			logins[i].get("/login")
		}
		signup := app.newClient()
		signup.get("/signup")

		release, err := slots.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		type result struct {
			status     int
			retryAfter string
			body       string
			err        error
		}
		results := make([]result, flood)
		var wg sync.WaitGroup
		// One after the other (each is turned away at once):
		// concurrent attempts would each hold a unit of the account's
		// budget of 2 while in flight, and be throttled instead.
		wg.Go(func() {
			for i, c := range logins {
				// The right password and the wrong one alike.
				password := pw
				if i%2 == 1 {
					password = "not-the-password"
				}
				status, header, body, err := c.rawPost("/login", url.Values{"email": {email}, "password": {password}})
				results[i] = result{status, header.Get("Retry-After"), body, err}
			}
		})
		// Meanwhile, the signed-in member browses.
		for range 3 {
			member.mustBeSignedIn(email)
		}
		answered := make(chan struct{})
		go func() { wg.Wait(); close(answered) }()
		select {
		case <-answered:
		case <-time.After(30 * time.Second):
			t.Fatal("logins with every slot taken and no queue were not answered at once (still waiting after 30 s)")
		}
		for i, r := range results {
			if r.err != nil {
				t.Fatalf("login %d: %v", i, r.err)
			}
			if r.status != http.StatusServiceUnavailable || r.retryAfter == "" {
				t.Errorf("login %d with every slot taken: %d, Retry-After %q; want 503 with Retry-After", i, r.status, r.retryAfter)
			}
			if !strings.Contains(r.body, "busy") {
				t.Errorf("login %d: the 503 page does not say the service is busy", i)
			}
		}
		other, otherPw := newUser()
		if r := signup.post("/signup", url.Values{"email": {other}, "password": {otherPw}}); r.status != http.StatusServiceUnavailable {
			t.Errorf("sign-up with every slot taken: %d, want 503", r.status)
		} else {
			mustHaveSecurityHeaders(t, "busy sign-up", r, true)
		}
		member.mustBeSignedIn(email)
		// Nine requests turned away, one log line: a flood must not also
		// flood the log.
		if n := strings.Count(app.logs.String(), `msg="password hashing`); n != 1 {
			t.Errorf("%d lines about busy hashing for 9 refused requests, want 1:\n%s", n, app.logs.String())
		}

		// The slot comes free: logins work again, and the 4 wrong passwords
		// turned away did not count against the account's budget of 2.
		release()
		logins[0].login(email, pw)
		if _, err := users.NewRepository(app.env.db).ByEmail(context.Background(), other); err == nil {
			t.Error("the refused sign-up created an account")
		}
	})
}

// newOneSlotApp is the app with one hashing slot, no queue, and a login
// budget of 2 per account: the test holds the slot itself, which is what
// a flood of slow logins would do. The wait for a slot is an hour, so
// only the refusal for a full queue can answer "at once".
func newOneSlotApp(t *testing.T, b backend) (*testApp, *auth.HashSlots) {
	t.Helper()
	slots := auth.NewHashSlots(1, time.Hour, auth.Queue(0))
	app := newDefendedApp(t, b, appOptions{
		deps:   func(d *server.Deps) { d.HashSlots = slots },
		config: []func(*config.Config){withLimits(2, 100, time.Hour)},
	})
	return app, slots
}

// rawPost is post without the test's fatal checks, for use off the test
// goroutine.
func (c *client) rawPost(path string, form url.Values) (int, http.Header, string, error) {
	form.Set("csrf_token", c.csrf)
	res, err := c.hc.PostForm(c.app.ts.URL+path, form)
	if err != nil {
		return 0, nil, "", err
	}
	defer res.Body.Close()
	var sb strings.Builder
	_, err = io.Copy(&sb, res.Body)
	return res.StatusCode, res.Header, sb.String(), err
}

// ASVS 5.0 11.4.2: raising BCRYPT_COST upgrades a stored hash at the
// user's next successful login, and only then.
func TestLogin_RehashesWhenTheCostWasRaised(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{}) // cost 4
		email, pw := newUser()
		app.newClient().signup(email, pw)
		repo := users.NewRepository(app.env.db)
		cost := func() int {
			t.Helper()
			u, err := repo.ByEmail(context.Background(), email)
			if err != nil {
				t.Fatal(err)
			}
			c, err := bcrypt.Cost(u.PasswordHash)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		if got := cost(); got != bcrypt.MinCost {
			t.Fatalf("cost after sign-up = %d, want %d", got, bcrypt.MinCost)
		}

		// The operator raises BCRYPT_COST and restarts.
		raised := app.sibling(appOptions{config: []func(*config.Config){func(c *config.Config) { c.BcryptCost = bcrypt.MinCost + 2 }}})
		c := raised.newClient()
		c.get("/login")
		c.post("/login", url.Values{"email": {email}, "password": {"not-the-password"}})
		if got := cost(); got != bcrypt.MinCost {
			t.Errorf("cost after a failed login = %d, want %d unchanged", got, bcrypt.MinCost)
		}
		c.login(email, pw)
		if got := cost(); got != bcrypt.MinCost+2 {
			t.Errorf("cost after login at BCRYPT_COST=%d = %d, want the new cost", bcrypt.MinCost+2, got)
		}
		if !strings.Contains(app.logs.String(), "event=password.rehash") {
			t.Error("the rehash was not logged")
		}

		// Lowering the cost again never weakens a stored hash, and the
		// upgraded hash still checks everywhere.
		lowered := app.sibling(appOptions{config: []func(*config.Config){func(c *config.Config) { c.BcryptCost = bcrypt.MinCost + 1 }}})
		lowered.newClient().login(email, pw)
		app.newClient().login(email, pw)
		if got := cost(); got != bcrypt.MinCost+2 {
			t.Errorf("cost after login at a lower BCRYPT_COST = %d, want %d kept", got, bcrypt.MinCost+2)
		}
	})
}

// A login flood is turned away before any other work: with every hashing
// slot busy (and no queue), a login for an account whose throttle budget
// is already spent gets the "busy" 503, not the throttle's 429 — it was
// refused before the throttle was consulted or the account looked up.
func TestHashingSlotsTaken_LoginRefusedBeforeTheThrottleIsConsulted(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app, slots := newOneSlotApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		c.get("/login")
		for range 2 {
			if r := c.post("/login", url.Values{"email": {email}, "password": {"not-the-password"}}); r.status != http.StatusUnauthorized {
				t.Fatalf("a wrong password: %d, want 401", r.status)
			}
		}
		if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusTooManyRequests {
			t.Fatalf("the account's budget spent: %d, want 429", r.status)
		}

		release, err := slots.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		r := c.post("/login", url.Values{"email": {email}, "password": {pw}})
		if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "busy") {
			t.Errorf("with every slot busy: %d, want the busy 503 before the throttle's 429", r.status)
		}
	})
}
