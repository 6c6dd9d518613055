package main

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// labBrowser is the learner's browser: plain HTTP (COOKIE_SECURE=false,
// cookie "session"), its own jar, no redirects followed.
type labBrowser struct {
	t    *testing.T
	c    *http.Client
	app  string // http://127.0.0.1:PORT
	csrf string
}

var labCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func newLabBrowser(t *testing.T, app string) *labBrowser {
	jar, _ := cookiejar.New(nil)
	return &labBrowser{t: t, app: app, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *labBrowser) do(method, rawURL string, form url.Values, header map[string]string) (int, string, http.Header) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, rawURL, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if m := labCSRF.FindSubmatch(raw); m != nil {
		b.csrf = string(m[1])
	}
	return res.StatusCode, string(raw), res.Header
}

// post posts a form of the app's own page (same origin), with its token.
func (b *labBrowser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	form.Set("csrf_token", b.csrf)
	status, body, _ := b.do(http.MethodPost, b.app+path, form, map[string]string{"Origin": b.app, "Sec-Fetch-Site": "same-origin"})
	return status, body
}

func (b *labBrowser) cookie() string {
	u, _ := url.Parse(b.app)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "session" {
			return c.Value
		}
	}
	return ""
}

func (b *labBrowser) signedIn(email string) bool {
	status, body, _ := b.do(http.MethodGet, b.app+"/profile", nil, nil)
	return status == http.StatusOK && strings.Contains(body, email)
}

func (b *labBrowser) logIn(email, password string) {
	b.t.Helper()
	b.do(http.MethodGet, b.app+"/login", nil, nil)
	if status, body := b.post("/login", url.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther {
		b.t.Fatalf("login: %d\n%s", status, body)
	}
}

// signedUpBrowser is a new learner's browser, signed up (and so signed in)
// with a fresh account from testenv.NewUser.
func signedUpBrowser(t *testing.T, app string) (b *labBrowser, email, password string) {
	t.Helper()
	b = newLabBrowser(t, app)
	email, password = testenv.NewUser()
	b.do(http.MethodGet, app+"/signup", nil, nil)
	if status, _ := b.post("/signup", url.Values{"email": {email}, "password": {password}}); status != http.StatusSeeOther {
		t.Fatalf("signup: %d", status)
	}
	return b, email, password
}

// labURL reads the attacker site's address from the start-up log.
func labURL(t *testing.T, logs string) string {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(logs))
	for sc.Scan() {
		var rec struct{ Msg, URL string }
		if json.Unmarshal(sc.Bytes(), &rec) == nil && strings.HasPrefix(rec.Msg, "attack lab on") {
			return rec.URL
		}
	}
	t.Fatalf("no attack lab line in the log:\n%s", logs)
	return ""
}

func startLab(t *testing.T) (app, lab string) {
	t.Helper()
	addr, _, logs := startRun(t, map[string]string{
		"COOKIE_SECURE":     "false",
		"LAB_ATTACKER_ADDR": "127.0.0.3:0", // another host: another site
	})
	return "http://" + addr, labURL(t, logs.String())
}

// CSRF from the attacker's site: the forms it holds post to the app, and
// the app refuses each, saying why, whether or not the browser sent the
// cookie; the learner stays signed in with the password unchanged.
func TestLab_ForgedFormsFromTheAttackerSiteAreRefusedWithTheReason(t *testing.T) {
	app, lab := startLab(t)
	learner, email, password := signedUpBrowser(t, app)
	_, page, _ := learner.do(http.MethodGet, lab+"/csrf", nil, nil)
	actions := regexp.MustCompile(`<form method="post" action="([^"]+)">`).FindAllStringSubmatch(page, -1)
	if len(actions) != 3 {
		t.Fatalf("the attacker's CSRF page holds %d forms, want 3:\n%s", len(actions), page)
	}
	for _, a := range actions {
		target := a[1]
		if !strings.HasPrefix(target, app+"/") {
			t.Fatalf("a forged form posts to %q, not to the app %s", target, app)
		}
		form := url.Values{"current_password": {"guessed-password"}, "new_password": {"attacker-chosen-password"}, "password": {"guessed-password"}, "sign_out_others": {"1"}}
		crossSite := map[string]string{"Origin": lab, "Sec-Fetch-Site": "cross-site"}
		// What Chromium sends: no cookie (SameSite=Strict). Then as a
		// browser that sent it anyway: refused all the same.
		for _, withCookie := range []bool{false, true} {
			h := map[string]string{}
			for k, v := range crossSite {
				h[k] = v
			}
			if withCookie {
				h["Cookie"] = "session=" + learner.cookie()
			}
			anon := newLabBrowser(t, app)
			status, body, _ := anon.do(http.MethodPost, target, form, h)
			if status != http.StatusForbidden || !strings.Contains(body, "sent by another site (Sec-Fetch-Site: cross-site)") {
				t.Errorf("forged POST %s (cookie %v): %d, want 403 saying why\n%s", target, withCookie, status, body)
			}
		}
	}
	if !learner.signedIn(email) {
		t.Fatal("the learner was signed out by a forged form")
	}
	learner.do(http.MethodGet, app+"/profile", nil, nil)
	learner.post("/logout", url.Values{})
	learner.logIn(email, password) // the password is unchanged
}

// Replay from the attacker's server (another address): refused by IP
// binding while signed in (which ends the session), and refused as "no
// live session" after logout.
func TestLab_ReplayedCookieIsRefusedWithTheReason(t *testing.T) {
	app, lab := startLab(t)
	learner, email, password := signedUpBrowser(t, app)
	attacker := newLabBrowser(t, lab)
	stolen := learner.cookie()
	status, body, _ := attacker.do(http.MethodPost, lab+"/replay", url.Values{"cookie": {"session=" + stolen}}, nil)
	if status != http.StatusOK || !strings.Contains(body, "refused by IP binding") || !strings.Contains(body, "127.0.0.2") {
		t.Fatalf("replay while signed in: %d\n%s", status, body)
	}
	if strings.Contains(body, stolen) {
		t.Error("the attacker site wrote the pasted cookie back into its page")
	}
	if learner.signedIn(email) {
		t.Error("strict IP binding let the original live on after a replay from another address")
	}

	learner.logIn(email, password)
	stolen = learner.cookie()
	learner.do(http.MethodGet, app+"/profile", nil, nil)
	learner.post("/logout", url.Values{})
	_, body, _ = attacker.do(http.MethodPost, lab+"/replay", url.Values{"cookie": {stolen}}, nil)
	if !strings.Contains(body, "holds no live session for this token") {
		t.Errorf("replay after logout does not say the session is gone:\n%s", body)
	}

	if status, _, _ := attacker.do(http.MethodPost, lab+"/replay", url.Values{"cookie": {"a b; c"}}, nil); status != http.StatusUnprocessableEntity {
		t.Errorf("a malformed paste: %d, want 422", status)
	}
}

// Fixation: the lab plants a token, the learner logs in, and the attacker
// who knows the planted token finds it names no session.
func TestLab_PlantedTokenIsNotAdoptedAtLogin(t *testing.T) {
	app, lab := startLab(t)
	_, email, password := signedUpBrowser(t, app)

	learner := newLabBrowser(t, app)
	attacker := newLabBrowser(t, lab)
	if _, body, _ := attacker.do(http.MethodGet, lab+"/fixation", nil, nil); !strings.Contains(body, "No token planted yet") {
		t.Fatalf("the fixation page before planting:\n%s", body)
	}
	_, practice, _ := learner.do(http.MethodGet, app+"/practices/fixation", nil, nil)
	for _, want := range []string{`action="/lab/fixation/plant"`, `href="` + lab + `/fixation"`} {
		if !strings.Contains(practice, want) {
			t.Fatalf("the fixation practice page lacks %s:\n%s", want, practice)
		}
	}
	if status, _ := learner.post("/lab/fixation/plant", url.Values{}); status != http.StatusSeeOther {
		t.Fatalf("plant: %d", status)
	}
	planted := learner.cookie()
	if planted == "" {
		t.Fatal("no token planted in the browser")
	}
	// The page the plant redirects to keeps it: the token is a real
	// (anonymous) session, not a stale cookie to expire.
	if status, page, _ := learner.do(http.MethodGet, app+"/practices/fixation", nil, nil); status != http.StatusOK || learner.cookie() != planted {
		t.Fatalf("after the redirect: %d, the planted cookie kept: %v\n%s", status, learner.cookie() == planted, page)
	}
	learner.logIn(email, password)
	if got := learner.cookie(); got == planted || got == "" {
		t.Fatalf("after login the browser holds %q: the planted token was adopted", got)
	}
	if !learner.signedIn(email) {
		t.Fatal("the learner is not signed in")
	}
	if _, page, _ := learner.do(http.MethodGet, app+"/practices/fixation", nil, nil); !strings.Contains(page, session.ShortID(planted)+" — not adopted") {
		t.Errorf("the fixation page does not show the planted cookie (%s) as not adopted", session.ShortID(planted))
	}
	_, body, _ := attacker.do(http.MethodPost, lab+"/fixation", url.Values{}, nil)
	if !strings.Contains(body, "Refused: the app holds no session for the planted token any more") {
		t.Errorf("the attacker's use of the planted token:\n%s", body)
	}
	if strings.Contains(body, planted) {
		t.Error("the attacker site shows the planted token")
	}
}

// Off by default: no attacker site and no planting route.
func TestLab_OffUnlessConfigured(t *testing.T) {
	addr, _, logs := startRun(t, map[string]string{"COOKIE_SECURE": "false"})
	b := newLabBrowser(t, "http://"+addr)
	b.do(http.MethodGet, b.app+"/login", nil, nil)
	if status, _ := b.post("/lab/fixation/plant", url.Values{}); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
		t.Errorf("POST /lab/fixation/plant without the lab: %d, want 404", status)
	}
	if b.cookie() != "" {
		t.Error("a token was planted with the lab off")
	}
	if _, page, _ := b.do(http.MethodGet, b.app+"/practices/fixation", nil, nil); strings.Contains(page, "Try the attack") {
		t.Error("the practice page offers the lab's attacks with the lab off")
	}
	if strings.Contains(logs.String(), "attack lab on") {
		t.Error("the attack lab started without LAB_ATTACKER_ADDR")
	}
}
