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
			app := newApp(t, b, func(c *config.Config) { c.ReauthWindow = time.Nanosecond }) // over by the next request
			email, pw := newUser()
			a, bc := app.newClient(), app.newClient()
			a.signup(email, pw)
			bc.login(email, pw)
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
