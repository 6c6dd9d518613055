//go:build e2e

package e2e

import (
	"context"
	"errors"
	"html/template"
	"net"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ASVS 5.0 3.5.1, 3.5.3: a page on another site that submits a form to the
// app, the moment the victim opens it, changes nothing: it cannot sign the
// victim out, nor sign them in to the attacker's account (login CSRF).
func TestBrowser_CrossSiteFormsCannotLogOutOrLogIn(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)

		attackerEmail, attackerPassword := newUser()
		b.signup(a, attackerEmail, attackerPassword)
		b.logout(a)
		// The attacker can get real CSRF tokens, but only their own: this
		// one, of the login form (the anonymous double-submit cookie of this
		// browser), is the best they can have.
		attackerToken := b.eval(`document.querySelector('input[name="csrf_token"]').value`)

		evil := startAttacker(t, map[string]attack{
			"/logout": {Action: a.URL + "/logout", Fields: map[string]string{"csrf_token": attackerToken}},
			"/login": {Action: a.URL + "/login", Fields: map[string]string{
				"csrf_token": attackerToken, "email": attackerEmail, "password": attackerPassword,
			}},
		})

		victim, victimPassword := newUser()
		b.signup(a, victim, victimPassword)
		before := b.sessionCookie(a)
		if before == nil {
			t.Fatal("signed in, yet the jar has no session cookie")
		}

		// The signed-in victim opens the attacker's page, which posts to
		// /logout. SameSite=Strict alone would not save them: the post would
		// arrive without the cookie, yet its answer (an expired cookie and
		// Clear-Site-Data) would still sign them out. The 403 of the
		// cross-origin check and the CSRF token is what protects them.
		if status, url := b.visitAttack(evil + "/logout"); status != http.StatusForbidden || url != a.URL+"/logout" {
			t.Errorf("the cross-site POST /logout led to %d at %s, want 403 at %s/logout", status, url, a.URL)
		}
		b.open(a.URL + "/profile")
		b.mustShowProfile(a, victim)
		if after := b.sessionCookie(a); after == nil || after.Value != before.Value {
			t.Errorf("after the cross-site POST /logout the session cookie changed")
		}

		// The signed-out victim opens the attacker's page, which posts the
		// attacker's credentials to /login.
		b.logout(a)
		if status, url := b.visitAttack(evil + "/login"); status != http.StatusForbidden || url != a.URL+"/login" {
			t.Errorf("the cross-site POST /login led to %d at %s, want 403 at %s/login", status, url, a.URL)
		}
		b.open(a.URL + "/profile")
		b.mustShowLogin(a, "/login?next=/profile")
	})
}

// attack is a form the attacker's page submits as soon as it loads.
type attack struct {
	Action string
	Fields map[string]string
}

var attackPage = template.Must(template.New("attack").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>You have won a prize</title></head>
<body>
<p>Claiming your prize…</p>
<form method="post" action="{{.Action}}">
{{range $name, $value := .Fields}}<input type="hidden" name="{{$name}}" value="{{$value}}">
{{end}}</form>
<script>document.forms[0].submit();</script>
</body></html>
`))

// startAttacker serves the attack pages on http://127.0.0.1:PORT. The app
// is at http://localhost:PORT: another host, so another site, and the
// browser treats the form posts as cross-site. It returns the base URL.
func startAttacker(t *testing.T, pages map[string]attack) string {
	t.Helper()
	mux := http.NewServeMux()
	for path, at := range pages {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			if err := attackPage.Execute(w, at); err != nil {
				t.Errorf("attack page %s: %v", path, err)
			}
		})
	}
	return serveOtherSite(t, mux)
}

// serveOtherSite serves h on http://127.0.0.1:PORT — another host than the
// app's http://localhost, so another site — and returns that base URL.
func serveOtherSite(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve the other site: %v", err)
		}
	}()
	// Close, not Shutdown: this cleanup runs while Chromium still holds
	// connections (it opens spare ones ahead of use), and nothing here
	// needs to finish gracefully.
	t.Cleanup(func() { srv.Close() })
	return "http://127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
}

// visitAttack opens the attacker's page at pageURL, waits for the page its
// form leads to, and returns that page's status and address. A refused
// post is the 403 at target itself; an accepted one usually redirects.
func (b *browser) visitAttack(pageURL string) (status int64, url string) {
	b.t.Helper()
	ev := get(b, "open the attacker's page "+pageURL, chromedp.WaitEvent(network.ResponseReceived,
		func(e network.EventResponseReceived) bool {
			return e.Type == network.ResourceTypeDocument && e.Response.URL != pageURL
		},
		chromedp.Navigate(pageURL)))
	b.waitForPage(ev.Response.URL)
	return ev.Response.Status, ev.Response.URL
}

// waitForPage waits until the tab shows url, fully loaded.
func (b *browser) waitForPage(url string) {
	b.t.Helper()
	ctx, cancel := context.WithDeadline(b.tab, b.deadline)
	defer cancel()
	for {
		// Errors are expected while the old document is torn down.
		state, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " " + document.readyState`))
		if err == nil && state == url+" complete" {
			return
		}
		select {
		case <-ctx.Done():
			b.t.Fatalf("waiting for %s to load: the tab shows %q (%v)", url, state, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
