//go:build e2e

package e2e

import (
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/lab/attacker"
)

// startLab serves the attack lab's other site on 127.0.0.1 (another site
// than the app's localhost) for app a.
func startLab(t *testing.T, a *app) string {
	t.Helper()
	lab := attacker.New(a.URL, strings.TrimPrefix(a.direct, "http://"), "__Host-session", netip.MustParseAddr("127.0.0.2"))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: lab.Handler()}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("serve the lab: %v", err)
		}
	}()
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// The lab's CSRF page, clicked as a learner would: each forged form lands
// on the app's refusal page, which says why, and the learner is still
// signed in afterwards.
func TestBrowser_LabForgedFormsAreRefusedAndSayWhy(t *testing.T) {
	eachStore(t, func(t *testing.T, kind string) {
		a := startApp(t, kind)
		b := newBrowser(t)
		email, password := newUser()
		b.signup(a, email, password)
		lab := startLab(t, a)
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
