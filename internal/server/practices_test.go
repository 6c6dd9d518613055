package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/lab"
	"github.com/sessionlab/sessionlab/internal/session"
)

func TestPractices_EveryPageListedAndServed(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		c := app.newClient()
		index := c.get("/practices")
		if index.status != http.StatusOK {
			t.Fatalf("GET /practices: %d", index.status)
		}
		if !strings.Contains(c.get("/").body, `href="/practices"`) {
			t.Error("the home page does not link to the practices")
		}
		for _, p := range lab.Practices {
			if !strings.Contains(index.body, `href="/practices/`+p.Slug+`"`) {
				t.Errorf("the index does not link to %s", p.Slug)
			}
			r := c.get("/practices/" + p.Slug)
			if r.status != http.StatusOK || !strings.Contains(r.body, "Where in the code") {
				t.Errorf("GET /practices/%s: %d", p.Slug, r.status)
			}
			if p.SignedIn && !strings.Contains(r.body, "Log in</a> to see this practice") {
				t.Errorf("%s shows evidence to an anonymous visitor", p.Slug)
			}
		}
		if r := c.get("/practices/no-such-practice"); r.status != http.StatusNotFound {
			t.Errorf("unknown practice: %d, want 404", r.status)
		}
	})
}

// The fixation page shows, from the visitor's own session, that login
// replaced the session: the id before login and the id now, both prefixes
// of SHA-256(token) — never the token.
func TestPractices_FixationPageShowsTheRenewalOnYourOwnSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b)
		email, pw := newUser()
		app.newClient().signup(email, pw)
		c := app.newClient()
		c.get("/login")
		before := randomToken() // planted, as a subdomain or a script could
		c.setToken(before)
		c.post("/login", url.Values{"email": {email}, "password": {pw}})
		r := c.get("/practices/fixation")
		for what, id := range map[string]string{"pre-login": session.ShortID(before), "current": session.ShortID(c.token())} {
			if !strings.Contains(r.body, id) {
				t.Errorf("the fixation page does not show the %s session id %s", what, id)
			}
		}
		if before == c.token() {
			t.Fatal("login did not renew the token")
		}
		ip := c.get("/practices/ip-binding").body
		if !strings.Contains(ip, "127.0.0.1") || !strings.Contains(ip, "strict") {
			t.Error("the IP binding page does not show the bound IP and the policy")
		}
		h := c.get("/practices/headers")
		if csp := h.header.Get("Content-Security-Policy"); csp == "" || !strings.Contains(h.body, strings.ReplaceAll(csp, "'", "&#39;")) {
			t.Error("the headers page does not show this response's CSP")
		}
	})
}

func TestStatic_FilesServedButNoDirectoryListing(t *testing.T) {
	for _, b := range backends()[:1] {
		app := newApp(t, b)
		c := app.newClient()
		if r := c.get("/static/app.css"); r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "text/css") {
			t.Errorf("GET /static/app.css: %d %q", r.status, r.header.Get("Content-Type"))
		}
		for _, path := range []string{"/static/", "/static/../go.mod", "/static/nope.css"} {
			if r := c.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, `<a href="app.css">`) {
				t.Errorf("GET %s: %d, want 404 without a listing", path, r.status)
			}
		}
	}
}
