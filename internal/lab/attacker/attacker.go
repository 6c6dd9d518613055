// Package attacker is the attack lab's "other site": a small site served on
// a second address (LAB_ATTACKER_ADDR, e.g. 127.0.0.1:8081 while the app
// is on localhost:8080 — another host, so another *site* to the browser)
// from which the learner runs attacks against their own session and watches
// them fail. It is off unless LAB_ATTACKER_ADDR is set (`make demo` sets it);
// a fork deployed as it is has no attacker site.
//
// What it does is what a real attacker's site could do, and no more: its
// pages hold forms that post to the app (CSRF), and its server replays a
// cookie the learner pastes into it, from another address (replay of a
// stolen cookie), or the token the lab planted in the learner's browser
// (fixation). It never sees the learner's cookie unless the learner pastes
// it, and never logs or shows one.
package attacker

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Site is the attacker site. Build it with [New].
type Site struct {
	mu         sync.Mutex
	appURL     string     // what the learner's browser calls the app, e.g. http://localhost:8080
	appDial    string     // where the attacker's server reaches the app, e.g. 127.0.0.1:8080
	cookieName string     // the app's session cookie
	from       netip.Addr // the replays' source address, another than the learner's
	client     *http.Client

	planted string // the token the lab last planted in a browser (fixation)
	self    string // this site's own URL, once it listens
}

// SetURL records the attacker site's own URL (once it listens), for the
// app's practice pages to link to.
func (s *Site) SetURL(u string) {
	s.mu.Lock()
	s.self = u
	s.mu.Unlock()
}

// URL is the attacker site's URL ("" before it listens).
func (s *Site) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.self
}

// New returns the attacker site for the app the browser reaches at appURL
// and the attacker's server reaches at appDial. Replays leave from the
// loopback address from (e.g. 127.0.0.2): to the app they come from
// another machine.
func New(appURL, appDial, cookieName string, from netip.Addr) *Site {
	s := &Site{cookieName: cookieName, from: from}
	s.SetApp(appURL, appDial)
	dialer := &net.Dialer{Timeout: 3 * time.Second, LocalAddr: &net.TCPAddr{IP: from.AsSlice()}}
	s.client = &http.Client{
		Timeout: 5 * time.Second,
		Transport: &http.Transport{
			// Always the app, whatever host the URL names.
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				_, dial := s.app()
				return dialer.DialContext(ctx, "tcp", dial)
			},
			DisableKeepAlives: true,
		},
		// A replay reads the app's answer as it is: a redirect to the login
		// page is the refusal.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return s
}

// SetApp says where the app is once it listens: appURL as the browser
// calls it, appDial where this server reaches it.
func (s *Site) SetApp(appURL, appDial string) {
	s.mu.Lock()
	s.appURL, s.appDial = strings.TrimSuffix(appURL, "/"), appDial
	s.mu.Unlock()
}

func (s *Site) app() (url, dial string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appURL, s.appDial
}

// Plant records the token the lab planted in the learner's browser, for
// the fixation attack to try later. The app calls it (same process).
func (s *Site) Plant(token string) {
	s.mu.Lock()
	s.planted = token
	s.mu.Unlock()
}

func (s *Site) plantedToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.planted
}

// Handler serves the attacker site.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.index)
	mux.HandleFunc("GET /csrf", s.csrf)
	mux.HandleFunc("GET /replay", s.replayForm)
	mux.HandleFunc("POST /replay", s.replay)
	mux.HandleFunc("GET /fixation", s.fixation)
	mux.HandleFunc("POST /fixation", s.useFixed)
	return headers(mux)
}

// headers: the attacker site is not what the lab defends, but it still
// runs no inline script and cannot be framed.
func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// Outcome is what one replay observed, in words.
type Outcome struct {
	Status    int
	Location  string
	SignedIn  bool   // the app served a signed-in page: the attack worked
	NoSession bool   // the app holds no live session for the token
	Reason    string // why the app refused it, as far as its answer tells
}

// Replay sends GET /profile to the app with the session cookie set to
// token, from the attacker's own address, and reports what came back.
func (s *Site) Replay(ctx context.Context, token string) (Outcome, error) {
	appURL, _ := s.app()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, appURL+"/profile", nil)
	if err != nil {
		return Outcome{}, err
	}
	req.AddCookie(&http.Cookie{Name: s.cookieName, Value: token})
	res, err := s.client.Do(req)
	if err != nil {
		return Outcome{}, fmt.Errorf("the app did not answer: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	o := Outcome{Status: res.StatusCode, Location: res.Header.Get("Location")}
	o.SignedIn = res.StatusCode == http.StatusOK && strings.Contains(string(body), "Your profile")
	notice := ""
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "notice") && c.Value != "" {
			notice = c.Value
		}
	}
	switch {
	case o.SignedIn:
		o.Reason = "the app served the signed-in profile: the replay worked"
	case notice == "ip":
		o.Reason = fmt.Sprintf("refused by IP binding: the session was signed in from another address than this replay's (%s); under the strict policy the app also ended the session, so the copy and the original are both dead now", s.from)
	case notice == "ended" || strings.HasPrefix(o.Location, "/login"):
		o.NoSession = true
		o.Reason = "refused: the app holds no live session for this token (it was never issued, was logged out, revoked, ended by IP binding or expired), so the request is anonymous and is sent to the login page"
	case res.StatusCode == http.StatusServiceUnavailable:
		o.Reason = "the app is unavailable (503): it refuses to serve signed-in pages while its store is down"
	default:
		o.Reason = fmt.Sprintf("the app answered %d", res.StatusCode)
	}
	return o, nil
}

var pages = template.Must(template.New("").Parse(`
{{define "top"}}<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{.}} — the attacker's site</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;background:#fff4f4}
h1{color:#a00}.refused{color:#060;font-weight:bold}.worked{color:#a00;font-weight:bold}form{margin:1rem 0;padding:1rem;border:1px solid #c99;background:#fff}
textarea{width:100%}</style></head><body>
<p><strong>The attacker's site.</strong> A different site from the app (another host): what any web page you visit could do.
<a href="/">All attacks</a></p><h1>{{.}}</h1>{{end}}
{{define "bottom"}}</body></html>{{end}}

{{define "index"}}{{template "top" "Attacks against your own session"}}
<p>Sign in to the app at <a href="{{.App}}">{{.App}}</a> in this browser first. Then try:</p>
<ol>
<li><a href="/csrf">Cross-site request forgery</a>: forms on this site that post to the app.</li>
<li><a href="/replay">Replay a copied cookie</a> from another address.</li>
<li><a href="/fixation">Session fixation</a>: use the token the lab planted in your browser before you logged in.</li>
</ol>{{template "bottom"}}{{end}}

{{define "csrf"}}{{template "top" "Cross-site request forgery"}}
<p>Each button submits a form from this site to the app, as a hidden form on any page could. Watch the app refuse each one, and say why.</p>
<form method="post" action="{{.App}}/logout"><p>Log you out of the app.</p><button type="submit">Forge: log out</button></form>
<form method="post" action="{{.App}}/account/password">
<input type="hidden" name="current_password" value="guessed-password"><input type="hidden" name="new_password" value="attacker-chosen-password">
<input type="hidden" name="sign_out_others" value="1"><p>Change your password to one the attacker chose.</p><button type="submit">Forge: change password</button></form>
<form method="post" action="{{.App}}/sessions/revoke-others"><input type="hidden" name="password" value="guessed-password">
<p>End all your other sessions.</p><button type="submit">Forge: sign out other sessions</button></form>
<p>Why they fail: your session cookie is <code>SameSite=Strict</code>, so the browser does not send it with a request another site starts;
the browser marks the request <code>Sec-Fetch-Site: cross-site</code> (and sends this site's <code>Origin</code>), which the app refuses;
and the form carries no CSRF token of your session.</p>{{template "bottom"}}{{end}}

{{define "replay"}}{{template "top" "Replay a copied cookie"}}
<p>Copy the value of your <code>{{.Cookie}}</code> cookie from the app (DevTools → Application → Cookies → {{.App}}) and paste it here.
This site's server replays it to the app from <code>{{.From}}</code>, another address than yours. The value is used once and is neither stored nor shown.</p>
<form method="post" action="/replay"><textarea name="cookie" rows="3" required autocomplete="off" spellcheck="false"></textarea><button type="submit">Replay it</button></form>
{{with .Outcome}}<h2>What the app answered</h2><p>{{.Status}}{{with .Location}} → {{.}}{{end}}</p>
<p class="{{if .SignedIn}}worked{{else}}refused{{end}}">{{.Reason}}</p>{{end}}
{{with .Error}}<p class="worked">{{.}}</p>{{end}}
<p>Try it three times: while signed in (IP binding refuses it, and ends the session); after logging out (the session is gone from the store); after "sign out other sessions" from another login (ended too).</p>{{template "bottom"}}{{end}}

{{define "fixation"}}{{template "top" "Session fixation"}}
{{if .Planted}}<p>The lab planted a token of the attacker's choosing in your browser (as a sibling subdomain or an injected script could).
If the app adopted it at login, the attacker — who knows it — would share your signed-in session.</p>
<p>Log in to the app, then come back and use the planted token:</p>
<form method="post" action="/fixation"><button type="submit">Use the planted token</button></form>
{{with .Outcome}}<h2>What the app answered</h2><p>{{.Status}}{{with .Location}} → {{.}}{{end}}</p>
<p class="{{if .SignedIn}}worked{{else}}refused{{end}}">{{if .NoSession}}Refused: the app holds no session for the planted token any more: at login it issued a new token and deleted the planted one from the store.{{else}}{{.Reason}}{{end}}</p>{{end}}
{{with .Error}}<p class="worked">{{.}}</p>{{end}}
{{else}}<p>No token planted yet. On the app's <a href="{{.App}}/practices/fixation">fixation page</a>, press "Plant a token", then come back here.</p>{{end}}
{{template "bottom"}}{{end}}
`))

type pageData struct {
	App, Cookie, Error string
	From               netip.Addr
	Planted            bool
	Outcome            *Outcome
}

func (s *Site) render(w http.ResponseWriter, name string, d pageData) {
	d.App, _ = s.app()
	d.Cookie, d.From = s.cookieName, s.from
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := pages.ExecuteTemplate(w, name, d); err != nil {
		http.Error(w, "render: "+err.Error(), http.StatusInternalServerError)
	}
}

func (s *Site) index(w http.ResponseWriter, r *http.Request)      { s.render(w, "index", pageData{}) }
func (s *Site) csrf(w http.ResponseWriter, r *http.Request)       { s.render(w, "csrf", pageData{}) }
func (s *Site) replayForm(w http.ResponseWriter, r *http.Request) { s.render(w, "replay", pageData{}) }

// replay replays the pasted cookie value (a bare value, or name=value).
//
// SECURITY(logging): the pasted value is used for one request and never
// stored, logged or written back into a page — ASVS 5.0 16.2.5.
func (s *Site) replay(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "the form could not be read", http.StatusBadRequest)
		return
	}
	v := strings.TrimSpace(r.PostForm.Get("cookie"))
	v = strings.TrimPrefix(v, s.cookieName+"=")
	if v == "" || len(v) > 512 || strings.ContainsAny(v, " ;\r\n\t\"") {
		w.WriteHeader(http.StatusUnprocessableEntity)
		s.render(w, "replay", pageData{Error: "Paste the cookie's value: the characters after " + s.cookieName + "=."})
		return
	}
	o, err := s.Replay(r.Context(), v)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		s.render(w, "replay", pageData{Error: err.Error()})
		return
	}
	s.render(w, "replay", pageData{Outcome: &o})
}

func (s *Site) fixation(w http.ResponseWriter, r *http.Request) {
	s.render(w, "fixation", pageData{Planted: s.plantedToken() != ""})
}

func (s *Site) useFixed(w http.ResponseWriter, r *http.Request) {
	tok := s.plantedToken()
	if tok == "" {
		s.fixation(w, r)
		return
	}
	o, err := s.Replay(r.Context(), tok)
	if err != nil {
		w.WriteHeader(http.StatusBadGateway)
		s.render(w, "fixation", pageData{Planted: true, Error: err.Error()})
		return
	}
	s.render(w, "fixation", pageData{Planted: true, Outcome: &o})
}
