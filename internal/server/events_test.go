package server_test

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
)

// Every security event of a full flow is logged, each with a user id and
// a short session id; none holds a secret (checked by the harness).
func TestSecurityEvents_AllLoggedWithoutSecrets(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) { c.ReauthWindow = time.Nanosecond }) // over by the next request
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
