//go:build contrast

package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// setDefences switches exactly the named defences off (the contrast
// build's /lab/defences form).
func setDefences(t *testing.T, app string, off ...string) {
	t.Helper()
	b := newLabBrowser(t, app)
	if status, body, _ := b.do(http.MethodGet, app+"/lab/defences", nil, nil); status != http.StatusOK || !strings.Contains(body, "CONTRAST BUILD") {
		t.Fatalf("GET /lab/defences: %d\n%s", status, body)
	}
	form := url.Values{"off": off}
	if status, body := b.post("/lab/defences", form); status != http.StatusSeeOther {
		t.Fatalf("POST /lab/defences: %d\n%s", status, body)
	}
	t.Cleanup(func() {
		c := newLabBrowser(t, app)
		c.do(http.MethodGet, app+"/lab/defences", nil, nil)
		c.post("/lab/defences", url.Values{})
	})
}

// The contrast build shows, side by side with the normal one, that each
// lab attack succeeds once its single defence is off.
func TestContrast_EachAttackSucceedsWithItsDefenceOff(t *testing.T) {
	app, lab := startLab(t)

	t.Run("banner on every page", func(t *testing.T) {
		b := newLabBrowser(t, app)
		for _, p := range []string{"/", "/login", "/practices/cookie"} {
			if _, body, _ := b.do(http.MethodGet, app+p, nil, nil); !strings.Contains(body, "contrast-banner") {
				t.Errorf("%s has no contrast banner", p)
			}
		}
	})

	// Renewal off alone: the planted token is signed in, yet the attacker,
	// from another address, still meets IP binding (defence in depth);
	// with both off the fixation works.
	for _, off := range [][]string{{"renewal"}, {"renewal", "ip-binding"}} {
		t.Run(strings.Join(off, "+")+" off: the planted token is signed in", func(t *testing.T) {
			setDefences(t, app, off...)
			owner, email, password := signedUpBrowser(t, app)
			owner.post("/logout", url.Values{})
			learner := newLabBrowser(t, app)
			learner.do(http.MethodGet, app+"/practices/fixation", nil, nil)
			learner.post("/lab/fixation/plant", url.Values{})
			planted := learner.cookie()
			learner.logIn(email, password)
			if learner.cookie() != planted {
				t.Fatal("the token was renewed with renewal off")
			}
			attacker := newLabBrowser(t, lab)
			_, body, _ := attacker.do(http.MethodPost, lab+"/fixation", url.Values{}, nil)
			want := "the replay worked"
			if len(off) == 1 {
				want = "refused by IP binding"
			}
			if !strings.Contains(body, want) {
				t.Errorf("the attacker's use of the planted token does not say %q:\n%s", want, body)
			}
		})
	}

	t.Run("httponly off: the cookie reaches scripts", func(t *testing.T) {
		setDefences(t, app, "httponly")
		b := newLabBrowser(t, app)
		b.do(http.MethodGet, app+"/signup", nil, nil)
		form := url.Values{"email": {"h-" + time.Now().Format("150405.000000") + "@example.com"}, "password": {"correct horse battery staple"}, "csrf_token": {b.csrf}}
		_, _, h := b.do(http.MethodPost, app+"/signup", form, map[string]string{"Origin": app, "Sec-Fetch-Site": "same-origin"})
		for _, v := range h.Values("Set-Cookie") {
			if strings.HasPrefix(v, "session=") && strings.Contains(v, "HttpOnly") {
				t.Errorf("HttpOnly still set: %s", v)
			}
		}
	})

	t.Run("csrf and samesite off: a forged logout works", func(t *testing.T) {
		setDefences(t, app, "csrf", "samesite")
		victim, email, _ := signedUpBrowser(t, app)
		forger := newLabBrowser(t, app)
		status, _, _ := forger.do(http.MethodPost, app+"/logout", url.Values{}, map[string]string{
			"Origin": lab, "Sec-Fetch-Site": "cross-site", "Cookie": "session=" + victim.cookie()})
		if status != http.StatusSeeOther {
			t.Fatalf("forged logout: %d, want it to go through", status)
		}
		if victim.signedIn(email) {
			t.Error("the forged logout did not log the victim out")
		}
	})

	t.Run("ip-binding off: a replay from another address is served", func(t *testing.T) {
		setDefences(t, app, "ip-binding")
		victim, _, _ := signedUpBrowser(t, app)
		attacker := newLabBrowser(t, lab)
		if _, body, _ := attacker.do(http.MethodPost, lab+"/replay", url.Values{"cookie": {victim.cookie()}}, nil); !strings.Contains(body, "the replay worked") {
			t.Errorf("replay with IP binding off:\n%s", body)
		}
	})

	t.Run("logout-delete off: a copied cookie outlives logout", func(t *testing.T) {
		setDefences(t, app, "logout-delete")
		victim, email, _ := signedUpBrowser(t, app)
		copied := newLabBrowser(t, app)
		u, _ := url.Parse(app)
		copied.c.Jar.SetCookies(u, []*http.Cookie{{Name: "session", Value: victim.cookie(), Path: "/"}})
		victim.do(http.MethodGet, app+"/profile", nil, nil)
		victim.post("/logout", url.Values{})
		if victim.signedIn(email) {
			t.Fatal("logout did not even expire the cookie")
		}
		if !copied.signedIn(email) {
			t.Error("the copied cookie is dead: the session was deleted anyway")
		}
	})
}
