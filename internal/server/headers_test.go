package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/security"
)

// securityHeaders are the headers every response carries (HSTS aside).
var securityHeaders = map[string]string{
	"Content-Security-Policy":    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
	"X-Content-Type-Options":     "nosniff",
	"Referrer-Policy":            "no-referrer",
	"Cross-Origin-Opener-Policy": "same-origin",
	"X-Frame-Options":            "DENY",
}

// mustHaveSecurityHeaders checks every header of the contract, and HSTS
// exactly when the response came over TLS.
func mustHaveSecurityHeaders(t *testing.T, what string, r *response, overTLS bool) {
	t.Helper()
	for name, want := range securityHeaders {
		if got := r.header.Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %s = %q, want exactly %q", what, name, got, want)
		}
	}
	if pp := r.header.Get("Permissions-Policy"); !strings.Contains(pp, "camera=()") || !strings.Contains(pp, "microphone=()") || !strings.Contains(pp, "geolocation=()") {
		t.Errorf("%s: Permissions-Policy = %q, want camera, microphone and geolocation denied", what, pp)
	}
	hsts := r.header.Values("Strict-Transport-Security")
	switch {
	case overTLS && (len(hsts) != 1 || hsts[0] != "max-age=31536000; includeSubDomains"):
		t.Errorf("%s over TLS: Strict-Transport-Security = %q, want max-age=31536000; includeSubDomains", what, hsts)
	case !overTLS && len(hsts) != 0:
		t.Errorf("%s over plain HTTP: Strict-Transport-Security = %q, want none", what, hsts)
	}
}

// CS HTTP headers, ASVS 5.0 3.4.1–3.4.8: every header on every response —
// pages signed in and not, static files, errors, health checks.
func TestSecurityHeaders_OnEveryResponse(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{})
		email, pw := newUser()
		signedIn := app.newClient()
		signedIn.signup(email, pw)
		anon := app.newClient()
		anon.get("/login")

		type request struct {
			method, path string
			form         url.Values
		}
		gets := []string{
			"/", "/login", "/signup", "/profile", "/sessions", "/account/password",
			"/healthz", "/readyz", "/static/app.css", "/no-such-page", "/logout",
		}
		var requests []request
		for _, p := range gets {
			requests = append(requests, request{http.MethodGet, p, nil})
		}
		requests = append(requests,
			request{http.MethodPost, "/login", url.Values{"email": {email}, "password": {"not-the-password"}}}, // 401, or 303 for the signed in
			request{http.MethodPost, "/signup", url.Values{"email": {"x"}, "password": {"shrt-pw"}}},           // 422
			request{http.MethodPost, "/login", url.Values{"csrf_token": {"forged"}}},                           // 403
			request{http.MethodPost, "/login", url.Values{"password": {strings.Repeat("a", 1<<20)}}},           // 413
		)
		for _, who := range []struct {
			name string
			c    *client
		}{{"anonymous", anon}, {"signed in", signedIn}} {
			for _, rq := range requests {
				what := who.name + " " + rq.method + " " + rq.path
				var r *response
				if rq.method == http.MethodGet {
					r = who.c.get(rq.path)
				} else {
					r = who.c.post(rq.path, rq.form)
				}
				mustHaveSecurityHeaders(t, what+" ("+http.StatusText(r.status)+")", r, true)
			}
		}
		// Logout last: it ends the signed-in client's session.
		mustHaveSecurityHeaders(t, "POST /logout", signedIn.post("/logout", nil), true)
	})
}

// ASVS 5.0 3.4.1: HSTS only where it means something — over TLS.
func TestSecurityHeaders_HSTSOnlyOnTheTLSListener(t *testing.T) {
	app := newDefendedApp(t, backends()[0], appOptions{})
	plain := httptest.NewServer(app.handler(appOptions{}))
	defer plain.Close()
	for _, path := range []string{"/healthz", "/login", "/static/app.css", "/no-such-page"} {
		res, err := plain.Client().Get(plain.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		mustHaveSecurityHeaders(t, "plain HTTP GET "+path, &response{status: res.StatusCode, header: res.Header}, false)

		mustHaveSecurityHeaders(t, "TLS GET "+path, app.newClient().get(path), true)
	}
}

// The templates must keep working under the CSP: no inline script or
// style, and nothing loaded from another origin.
func TestPages_NeedNothingTheCSPForbids(t *testing.T) {
	app := newDefendedApp(t, backends()[0], appOptions{})
	email, pw := newUser()
	c := app.newClient()
	c.signup(email, pw)
	// The one script is a same-origin static file (script-src 'self');
	// any other <script — inline, or from elsewhere — would be blocked.
	own := `<script src="/static/lab.js" defer></script>`
	for _, path := range []string{"/", "/profile", "/sessions", "/account/password", "/no-such-page"} {
		body := strings.ReplaceAll(strings.ToLower(c.get(path).body), own, "")
		for _, bad := range []string{"<script", "<style", " style=", "javascript:", " onclick=", " onload=", " onsubmit=", "src=\"http"} {
			if strings.Contains(body, bad) {
				t.Errorf("GET %s contains %q, which the CSP %q would block", path, bad, security.ContentSecurityPolicyValue)
			}
		}
	}
	c.post("/logout", nil)
	for _, path := range []string{"/login", "/signup"} {
		if body := strings.ReplaceAll(strings.ToLower(c.get(path).body), own, ""); strings.Contains(body, "<script") || strings.Contains(body, " style=") {
			t.Errorf("GET %s has inline script or style", path)
		}
	}
}
