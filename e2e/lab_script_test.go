//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sessionlab/sessionlab/internal/config"
)

// The cookie practice's script reads document.cookie as an injected script
// would, in the real browser: the session cookie is not there (HttpOnly).
func TestBrowser_ScriptCannotReadTheSessionCookie(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		b.watchCSP()
		email, password := newUser()
		b.signup(a, email, password)
		b.open(a.URL + "/practices/cookie")
		b.do("run document.cookie", chromedp.Click(chromedp.CSS("#read-cookie")))
		got := b.text("#read-cookie-result")
		if !strings.Contains(got, "is not there: it is HttpOnly") || strings.Contains(got, "IS readable") {
			t.Errorf("the script's result: %q", got)
		}
		if v := b.cspViolations(); len(v) > 0 {
			t.Errorf("CSP violations: %v", v)
		}
	})
}

// The profile counts down to the idle deadline; when it passes, it says
// the session has ended, and the next click lands on the login page.
func TestBrowser_IdleCountdownRunsOutAndTheNextClickIsTheLoginPage(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind, func(c *config.Config) { c.IdleTimeout = 3 * time.Second })
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		b.open(a.URL + "/profile")
		first := b.text("#idle-deadline")
		if !strings.HasPrefix(first, "0:0") {
			t.Fatalf("the countdown shows %q, want 0:0x", first)
		}
		time.Sleep(4 * time.Second)
		if got := b.text("#idle-deadline"); !strings.Contains(got, "the server has ended it") {
			t.Fatalf("after the idle timeout the countdown shows %q", got)
		}
		b.click("the next click", `a[href="/sessions"]`)
		b.mustShowLogin(a, "/login?next=/sessions")
	})
}
