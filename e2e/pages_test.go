//go:build e2e

package e2e

import (
	"testing"
)

// Every page works in the browser as it is served: no resource blocked by
// the Content-Security-Policy, no error in the console (a failed
// stylesheet, a 404 favicon, a script error).
func TestBrowser_PagesRaiseNoConsoleErrorOrCSPViolation(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		b.watchCSP()
		email, password := newUser()

		checkPage := func(name string) {
			t.Helper()
			for _, v := range b.cspViolations() {
				t.Errorf("%s page (%s): CSP violation: %s", name, b.location(), v)
			}
		}

		b.open(a.URL + "/")
		checkPage("home")
		b.click("follow the Sign up link", `header a[href="/signup"]`)
		checkPage("sign-up")
		b.submitCredentials(signupForm, email, password)
		b.mustShowProfile(a, email)
		checkPage("profile")
		b.logout(a)
		checkPage("login (after logout)")
		b.submitCredentials(loginForm, email, password)
		b.mustShowProfile(a, email)
		checkPage("profile (after login)")
		for _, path := range []string{"/sessions", "/account/password", "/practices", "/practices/fixation", "/practices/headers"} {
			b.open(a.URL + path)
			checkPage(path)
		}
		b.logout(a)
		checkPage("login (after the second logout)")

		for _, m := range b.consoleMessages() {
			t.Errorf("console: %s", m)
		}
	})
}
