package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

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
		// No wait: the deadline is shown to the nanosecond, so a renewal
		// that reset it would move it by the requests in between.

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
