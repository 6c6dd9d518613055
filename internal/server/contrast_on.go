//go:build contrast

package server

// The contrast build (`make demo-insecure`, build tag "contrast"): the attack
// lab can switch single defences off, so the same attacks that fail in the
// normal build succeed here, side by side. Every page carries a red banner.
// NEVER DEPLOY IT. The default build does not contain this file
// (contrast_off.go; TestContrast_AbsentFromTheDefaultBuild checks the binary).

import (
	"html/template"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/go-chi/chi/v5"
)

const contrastBuild = true

// contrastMarker is in the binary only when this file is compiled in.
const contrastMarker = "CONTRAST BUILD: defences can be switched off at /lab/defences — never deploy this binary"

// defences are the switches, by name, with what switching each off does.
var defences = []struct{ Name, Off string }{
	{"renewal", "login keeps the token the browser brought (no RenewToken): a planted token becomes signed in"},
	{"httponly", "the session cookie is sent without HttpOnly: document.cookie shows it"},
	{"samesite", "the session cookie is sent with SameSite=None: other sites' forms carry it"},
	{"csrf", "no cross-origin check and no CSRF token check"},
	{"ip-binding", "a session is served to any address"},
	{"logout-delete", "logout only expires the cookie and keeps the session in the store: a copy still works"},
}

var switches = struct {
	sync.Mutex
	off map[string]bool
}{off: map[string]bool{}}

func (a *app) defenceOff(name string) bool {
	switches.Lock()
	defer switches.Unlock()
	return switches.off[name]
}

func (a *app) renewalOff() func() bool { return func() bool { return a.defenceOff("renewal") } }

func (a *app) contrastBanner() string { return contrastMarker }

func (a *app) contrastRoutes(r chi.Router) {
	r.Get("/lab/defences", a.defencesGet)
	r.Post("/lab/defences", a.defencesPost)
}

func (a *app) defencesGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	var b strings.Builder
	b.WriteString(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Defences · contrast build</title><link rel="stylesheet" href="/static/app.css"></head><body>`)
	b.WriteString(`<p class="contrast-banner">` + contrastMarker + `</p><main><h1>Switch single defences off</h1><form method="post" action="/lab/defences">`)
	token := a.sessions.ExistingCSRFToken(r.Context())
	if token == "" {
		token = a.anonCSRF.Token(w, r) // sets the anonymous token's cookie before anything is written
	}
	b.WriteString(`<input type="hidden" name="csrf_token" value="` + template.HTMLEscapeString(token) + `">`)
	switches.Lock()
	for _, d := range defences {
		checked := ""
		if switches.off[d.Name] {
			checked = " checked"
		}
		b.WriteString(`<p><label class="check"><input type="checkbox" name="off" value="` + d.Name + `"` + checked + `> <strong>` + d.Name + ` off</strong>: ` + d.Off + `</label></p>`)
	}
	switches.Unlock()
	b.WriteString(`<button type="submit">Apply</button></form><p><a href="/practices">Back to the practices</a></p></main></body></html>`)
	w.Write([]byte(b.String()))
}

func (a *app) defencesPost(w http.ResponseWriter, r *http.Request) {
	off := r.PostForm["off"]
	for _, name := range off {
		if !slices.ContainsFunc(defences, func(d struct{ Name, Off string }) bool { return d.Name == name }) {
			a.errorPage(w, r, http.StatusBadRequest, "Unknown defence: "+name)
			return
		}
	}
	switches.Lock()
	switches.off = map[string]bool{}
	for _, name := range off {
		switches.off[name] = true
	}
	switches.Unlock()
	http.Redirect(w, r, "/lab/defences", http.StatusSeeOther)
}

// contrastCookies rewrites the session cookie as the switches say, just
// before the headers go out.
func (a *app) contrastCookies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&contrastWriter{ResponseWriter: w, a: a, r: r}, r)
	})
}

type contrastWriter struct {
	http.ResponseWriter
	a    *app
	r    *http.Request
	done bool
}

func (c *contrastWriter) rewrite() {
	if c.done {
		return
	}
	c.done = true
	h := c.Header()
	var out []string
	for _, v := range h.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(v)
		if err != nil || ck.Name != c.a.cfg.CookieName() {
			out = append(out, v)
			continue
		}
		if c.a.defenceOff("logout-delete") && c.r.URL.Path == "/logout" && ck.Value != "" {
			continue // only the expired cookie goes out
		}
		if c.a.defenceOff("httponly") {
			ck.HttpOnly = false
		}
		if c.a.defenceOff("samesite") {
			ck.SameSite = http.SameSiteNoneMode
		}
		out = append(out, ck.String())
	}
	h.Del("Set-Cookie")
	for _, v := range out {
		h.Add("Set-Cookie", v)
	}
}

func (c *contrastWriter) WriteHeader(code int) { c.rewrite(); c.ResponseWriter.WriteHeader(code) }
func (c *contrastWriter) Write(b []byte) (int, error) {
	c.rewrite()
	return c.ResponseWriter.Write(b)
}
func (c *contrastWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }
