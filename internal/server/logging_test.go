package server_test

import (
	"net/url"
	"strings"
	"testing"
)

// A handler's log line carries the id the response was given in
// X-Request-Id, added by the logger (no log call in internal/server names
// request_id), and neither the password tried nor a session token.
func TestLog_AHandlersLineCarriesTheRequestIDAndNoSecret(t *testing.T) {
	app := newApp(t, backends()[0])
	email, pw := newUser()
	owner := app.newClient()
	owner.signup(email, pw)
	c := app.newClient()
	c.get("/login")
	r := c.post("/login", url.Values{"email": {email}, "password": {"not-" + pw}})
	id := r.header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id on the response")
	}
	var line string
	for l := range strings.Lines(app.logs.String()) {
		if strings.Contains(l, "event=login.failure") {
			line = l
		}
	}
	if !strings.Contains(line, " request_id="+id+" ") {
		t.Errorf("the login.failure line lacks request_id=%s: %q\n%s", id, line, app.logs.String())
	}
	for _, secret := range []string{pw, "not-" + pw, owner.token(), c.token()} {
		if secret != "" && strings.Contains(app.logs.String(), secret) {
			t.Errorf("the log shows a password or token")
		}
	}
}
