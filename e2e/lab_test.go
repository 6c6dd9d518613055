//go:build e2e

package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/sessionlab/sessionlab/internal/config"
)

// The lab's CSRF page, clicked as a learner would: each forged form lands
// on the app's refusal page, which says why, and the learner is still
// signed in afterwards.
func TestBrowser_LabForgedFormsAreRefusedAndSayWhy(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind, withLab)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		lab := a.Lab
		for i, button := range []string{"log out", "change password", "sign out other sessions"} {
			b.open(lab + "/csrf")
			res := b.click("forge: "+button, "form:nth-of-type("+strconv.Itoa(i+1)+") button")
			if res == nil || res.Status != http.StatusForbidden {
				t.Fatalf("forged %q: %v, want the app's 403", button, res)
			}
			if got := b.text("main"); !strings.Contains(got, "sent by another site (Sec-Fetch-Site: cross-site)") {
				t.Errorf("forged %q: the refusal does not say why: %q", button, got)
			}
		}
		b.open(a.URL + "/profile")
		b.mustShowProfile(a, email)
		b.logout(a)
		b.login(a, email, password) // the password was not changed
	})
}

// withLab turns the attack lab on (startApp serves its other site).
func withLab(c *config.Config) { c.LabAttackerAddr = "127.0.0.1:0" }

// Fixation, clicked as a learner would: plant a token from the practice
// page, log in through the form, see it not adopted, and watch the
// attacker's site fail to use it.
func TestBrowser_LabPlantedTokenIsNotAdopted(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind, withLab)
		owner := newBrowser(t)
		email, password := newUser()
		owner.signup(a, email, password)

		b := newBrowser(t)
		b.open(a.URL + "/practices/fixation")
		b.click("plant a token", `form[action="/lab/fixation/plant"] button`)
		planted := b.sessionCookie(a)
		if planted == nil {
			t.Fatal("no token planted in the browser")
		}
		b.login(a, email, password)
		if now := b.sessionCookie(a); now == nil || now.Value == planted.Value {
			t.Fatal("the planted token was adopted at login")
		}
		b.open(a.URL + "/practices/fixation")
		if got := b.text("main"); !strings.Contains(got, "not adopted") {
			t.Errorf("the fixation page does not show the planted cookie as not adopted: %q", got)
		}
		b.open(a.Lab + "/fixation")
		b.click("use the planted token", `form[action="/fixation"] button`)
		if got := b.text("body"); !strings.Contains(got, "Refused: the app holds no session for the planted token any more") {
			t.Errorf("the attacker's use of the planted token: %q", got)
		}
		b.open(a.URL + "/profile")
		b.mustShowProfile(a, email)
	})
}

// Replay, as a learner would: paste the cookie's value into the attacker's
// site, which replays it from 127.0.0.2: refused by IP binding.
func TestBrowser_LabReplayedCookieIsRefused(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind, withLab)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		value := b.sessionCookie(a).Value
		b.open(a.Lab + "/replay")
		b.do("paste the cookie", chromedp.SendKeys(chromedp.CSS(`textarea[name="cookie"]`), value))
		b.click("replay it", `form[action="/replay"] button`)
		got := b.text("body")
		if !strings.Contains(got, "refused by IP binding") {
			t.Errorf("the replay's outcome: %q", got)
		}
		if strings.Contains(got, value) {
			t.Error("the attacker's page shows the pasted cookie")
		}
	})
}
