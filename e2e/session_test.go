//go:build e2e

package e2e

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/sessionlab/sessionlab/internal/config"
)

// A person signs up, logs out, logs in and logs out again, only by
// following links, typing into the forms and clicking their buttons.
func TestBrowser_SignUpLogInAndLogOutByTypingAndClicking(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()

		if res := b.open(a.URL + "/"); res.Status != http.StatusOK || b.text("h1") != "Sessions, done safely" {
			t.Fatalf("home page: status %d, heading %q", res.Status, b.text("h1"))
		}
		b.click("follow the Sign up link", `header a[href="/signup"]`)
		if h1 := b.text("h1"); h1 != "Sign up" {
			t.Fatalf("after the Sign up link the heading is %q, want the sign-up form", h1)
		}
		b.submitCredentials(signupForm, email, password)
		b.mustShowProfile(a, email)

		b.logout(a)

		b.submitCredentials(loginForm, email, password)
		b.mustShowProfile(a, email)

		b.logout(a)
		// Signed out for real: the profile now asks them to log in.
		b.open(a.URL + "/profile")
		b.mustShowLogin(a, "/login?next=/profile")
	})
}

// ASVS 5.0 3.3.1–3.3.4: the cookie as the browser stores it, and what the
// page's JavaScript can see of it.
func TestBrowser_SessionCookieIsHostOnlyStrictAndHiddenFromJavaScript(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		b.logout(a)
		b.login(a, email, password)

		c := b.sessionCookie(a)
		if c == nil {
			t.Fatalf("after login the cookie jar has no %s cookie for %s", cookieName, a.URL)
		}
		// CDP has no hostOnly field: it reports a host-only cookie with the
		// bare host as its domain, and a Domain cookie with a leading dot.
		if !c.HTTPOnly || !c.Secure || c.SameSite != network.CookieSameSiteStrict || c.Path != "/" || c.Domain != "localhost" {
			t.Errorf("cookie in the jar: httpOnly=%v secure=%v sameSite=%q path=%q domain=%q; want httpOnly, secure, Strict, \"/\", host-only \"localhost\"",
				c.HTTPOnly, c.Secure, c.SameSite, c.Path, c.Domain)
		}

		// document.cookie does show cookies that are not HttpOnly (the probe),
		// so the session cookie's absence is HttpOnly at work.
		seen := b.eval(`(document.cookie = "e2e-probe=visible; path=/; SameSite=Strict", document.cookie)`)
		if !strings.Contains(seen, "e2e-probe=visible") {
			t.Fatalf("document.cookie = %q: the probe cookie is missing, so this check proves nothing", seen)
		}
		if strings.Contains(seen, cookieName) || strings.Contains(seen, c.Value) {
			t.Errorf("document.cookie = %q: JavaScript can read the session cookie", seen)
		}
	})
}

// Session fixation (ASVS 5.0 7.2.4, CS strict mode): an attacker plants a
// made-up session cookie in the victim's browser before the victim logs in.
func TestBrowser_FixationPlantedCookieIsReplaced(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		b.logout(a)

		planted := madeUpToken()
		b.plantSessionCookie(a, planted)
		if c := b.sessionCookie(a); c == nil || c.Value != planted {
			t.Fatalf("the planted cookie is not in the jar (%v), so this test proves nothing", c)
		}

		b.open(a.URL + "/login")
		beforeLogin := b.sessionCookie(a)
		b.submitCredentials(loginForm, email, password)
		b.mustShowProfile(a, email)

		after := b.sessionCookie(a)
		switch {
		case after == nil:
			t.Fatal("signed in, yet the jar has no session cookie")
		case after.Value == planted:
			t.Fatal("the browser still holds the planted value after login: the app adopted it")
		case beforeLogin != nil && after.Value == beforeLogin.Value:
			t.Error("login kept the token the login form was served with: it must issue a new one")
		}

		// The attacker, holding the planted value, is nobody.
		if status, loc := a.replay(t, "/profile", planted); status != http.StatusSeeOther || loc != "/login?next=/profile" {
			t.Errorf("GET /profile with the planted value: %d → %q, want 303 → /login?next=/profile", status, loc)
		}
		// The same request with the value the browser now holds does open
		// the profile, so the refusal above is not just a client that cannot
		// sign in at all.
		if status, _ := a.replay(t, "/profile", after.Value); status != http.StatusOK {
			t.Errorf("GET /profile with the browser's own cookie value: %d, want 200", status)
		}
	})
}

// ASVS 5.0 7.4.1, 14.3.1, 14.3.2: after logout the browser holds no session
// cookie, and the back button does not bring the profile back from a cache.
func TestBrowser_LogoutLeavesNoSignedInCookieAndBackShowsTheLoginPage(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		signedIn := b.sessionCookie(a)
		if signedIn == nil {
			t.Fatal("signed in, yet the jar has no session cookie")
		}

		b.logout(a)
		// The login page that logout lands on starts an anonymous session
		// to carry its form's CSRF token, so the jar may hold a new cookie:
		// never the signed-in one, and never one that signs anybody in.
		if c := b.sessionCookie(a); c != nil {
			if c.Value == signedIn.Value {
				t.Error("after logout the jar still holds the signed-in session cookie")
			} else if status, loc := a.replay(t, "/profile", c.Value); status != http.StatusSeeOther {
				t.Errorf("after logout the jar holds a session cookie that opens the profile: GET /profile → %d %q", status, loc)
			}
		}
		// A copy of the signed-in cookie kept from before is dead too.
		if status, loc := a.replay(t, "/profile", signedIn.Value); status != http.StatusSeeOther || loc != "/login?next=/profile" {
			t.Errorf("GET /profile with the signed-in cookie after logout: %d → %q, want 303 → /login?next=/profile", status, loc)
		}

		// Back to the profile's history entry: the page must be fetched
		// again (no-store), and the now anonymous visitor is sent to log in.
		b.back()
		b.mustShowLogin(a, "/login?next=/profile")
		if strings.Contains(b.text("body"), email) {
			t.Errorf("after Back the page still shows %s", email)
		}

		b.do("reload", chromedp.Reload())
		b.mustShowLogin(a, "/login?next=/profile")
		if strings.Contains(b.text("body"), email) {
			t.Errorf("after Back and Reload the page still shows %s", email)
		}
	})
}

// ASVS 5.0 7.3.1: the idle timeout is enforced by the server, and the
// person is told why they must sign in again.
func TestBrowser_IdleSessionEndsAndTheLoginPageSaysWhy(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind, func(c *config.Config) {
			c.IdleTimeout = 2 * time.Second
			c.Lifetime = time.Hour
		})
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)

		// Within the idle timeout a click keeps the session.
		b.click("follow the Profile link", `header a[href="/profile"]`)
		b.mustShowProfile(a, email)

		b.do("stay idle past the timeout", chromedp.Sleep(3*time.Second))
		b.click("follow the Profile link after idling", `header a[href="/profile"]`)
		b.mustShowLogin(a, "/login?next=/profile")
		if flash := b.text(".flash"); !strings.Contains(flash, "Your session has ended") {
			t.Errorf("the login page says %q, want the reason: \"Your session has ended…\"", flash)
		}
	})
}

// ASVS 5.0 7.5.2: a person signed in on two devices ends the other one from
// the sessions page; the other device is signed out on its very next click.
func TestBrowser_RevokedSessionLandsOnLoginAtItsNextClick(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		laptop := newBrowser(t)
		phone := laptop.otherDevice("phone")
		email, password := newUser()
		laptop.signup(a, email, password)
		phone.login(a, email, password)

		laptop.open(a.URL + "/sessions")
		if rows := laptop.eval(`String(document.querySelectorAll("table.sessions tbody tr").length)`); rows != "2" {
			t.Fatalf("the sessions page lists %s sessions, want 2 (this laptop and the phone)", rows)
		}
		// Both were signed in moments ago, inside the re-authentication
		// window, so no password is asked for.
		laptop.click("end the phone's session", `table.sessions tbody tr:not(.current) button[type="submit"]`)
		if loc, h1 := laptop.location(), laptop.text("h1"); loc != a.URL+"/sessions" || h1 != "Your sessions" {
			t.Fatalf("after ending the phone's session the laptop shows %s with heading %q, want the sessions page", loc, h1)
		}
		if rows := laptop.eval(`String(document.querySelectorAll("table.sessions tbody tr").length)`); rows != "1" {
			t.Errorf("after ending the phone's session the page lists %s sessions, want 1", rows)
		}

		phone.click("follow the Profile link on the phone", `header a[href="/profile"]`)
		phone.mustShowLogin(a, "/login?next=/profile")
		if flash := phone.text(".flash"); !strings.Contains(flash, "Your session has ended") {
			t.Errorf("the phone's login page says %q, want the reason: \"Your session has ended…\"", flash)
		}

		laptop.open(a.URL + "/profile")
		laptop.mustShowProfile(a, email)
	})
}
