//go:build e2e

package e2e

import (
	"html/template"
	"net/http"
	"testing"
)

var linkPage = template.Must(template.New("links").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Links</title></head>
<body>
<p><a id="home" href="{{.}}/">Session Lab home</a></p>
<p><a id="profile" href="{{.}}/profile">Session Lab profile</a></p>
</body></html>
`))

// startLinkSite serves a page of ordinary links to the app from
// http://127.0.0.1:PORT, another site than the app's http://localhost.
func startLinkSite(t *testing.T, appURL string) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		linkPage.Execute(w, appURL)
	})
	return serveOtherSite(t, mux)
}

// SameSite=Strict's cost: a link from another site arrives without the
// session cookie. The app must not answer it with a cookie of its own that
// replaces the signed-in one: one same-site click later, the visitor is
// signed in — for a link to a public page and to a protected one.
func TestBrowser_LinkFromAnotherSiteNeverSignsTheVisitorOut(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		before := b.sessionCookie(a)
		site := startLinkSite(t, a.URL)

		for _, link := range []string{"#home", "#profile"} {
			b.open(site + "/")
			b.click("follow the link "+link+" from another site", link)
			if c := b.sessionCookie(a); c == nil || c.Value != before.Value {
				t.Fatalf("after following %s from another site the session cookie was replaced or removed", link)
			}
			// The next click inside the app is same-site: signed in.
			b.click("open the practices from the app's menu", `header nav a[href="/practices"]`)
			if who := b.text("header .who"); who != email {
				t.Errorf("after %s from another site and one click inside the app: signed in as %q, want %s", link, who, email)
			}
		}
		b.open(a.URL + "/profile")
		b.mustShowProfile(a, email)
	})
}
