package server

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/lab"
	"github.com/sessionlab/sessionlab/internal/users"
	"github.com/sessionlab/sessionlab/web"
)

// pages holds one parsed template set per page, each being base.tmpl plus
// the page. They are parsed once, at start-up.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	names, err := fs.Glob(web.Templates, "templates/*.tmpl")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, name := range names {
		base := path.Base(name)
		if base == "base.tmpl" {
			continue
		}
		t, err := template.New(base).ParseFS(web.Templates, "templates/base.tmpl", name)
		if err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		p.byName[base[:len(base)-len(".tmpl")]] = t
	}
	return p, nil
}

// templateData is everything a page may show.
type templateData struct {
	Title     string
	CSRFToken string
	Contrast  string // the contrast build's banner; "" in the default build
	// The session cookie as configured (home page), never typed.
	CookieName, CookieAttrs string
	User                    *users.User
	Flash                   string
	Next                    string
	Form                    formData
	Session                 *sessionView
	Message                 string // error pages

	Sessions      []sessionRow // /sessions
	NeedsPassword bool         // a sensitive action must ask for the password
	MaxSessions   int          // the cap on one user's sessions
	SignOutOthers bool         // the password form's checkbox

	Practices []lab.Practice // /practices
	Practice  *lab.Practice  // /practices/{slug}
	LabURL    string         // the attack lab's other site, when LAB_ATTACKER_ADDR is set
	// IdleDeadline, on the timeouts page, is when this session ends if idle.
	IdleDeadline time.Time
	Evidence     []lab.Evidence // its live evidence (nil: sign in to see it)
	Glossary     []lab.Term     // /glossary
}

// formData echoes what the visitor typed (never a password) and the
// messages about it.
type formData struct {
	Email    string
	Remember bool // the login form's "keep me signed in" checkbox
	// The server's deadlines as configured, shown beside that checkbox.
	IdleTimeout, Lifetime string
	Error                 string
	Errors                map[string]string
}

// sessionView is the live state of the visitor's session on the profile.
type sessionView struct {
	ShortID         string
	Store           string
	CookieName      string
	CookieAttrs     string // from the session manager's settings
	CookieLifetime  string // Max-Age when remembered, else browser-session
	AuthenticatedAt time.Time
	IdleTimeout     time.Duration
	IdleDeadline    time.Time
	Deadline        time.Time
	BoundIP         string
	CurrentIP       string
	IPBinding       string
}

// newData fills what every page needs from the request. A signed-in
// visitor's forms carry the session's CSRF token; an anonymous visitor's
// pages create no session (the login and sign-up forms use anonForm).
func (a *app) newData(r *http.Request, title string) templateData {
	ctx := r.Context()
	d := templateData{Title: title, User: userFrom(ctx), Flash: a.sessions.PopFlash(ctx), Contrast: a.contrastBanner(),
		CookieName: a.cfg.CookieName(), CookieAttrs: a.sessions.CookieAttributes()}
	if d.User != nil {
		d.CSRFToken = a.sessions.CSRFToken(ctx)
	}
	if d.Flash == "" {
		d.Flash = noticeFrom(ctx)
	}
	return d
}

// anonForm gives an anonymous visitor's form (login, sign-up) its CSRF
// token from the AnonCSRF cookie, setting it if needed: no session, no
// store write.
func (a *app) anonForm(w http.ResponseWriter, r *http.Request, d *templateData) {
	if d.User == nil {
		d.CSRFToken = a.anonCSRF.Token(w, r)
	}
	d.Form.IdleTimeout, d.Form.Lifetime = config.ShortDuration(a.cfg.IdleTimeout), config.ShortDuration(a.cfg.Lifetime)
}

// csrfWanted is the token a state-changing request must carry: its
// session's, or an anonymous visitor's AnonCSRF cookie.
func (a *app) csrfWanted(r *http.Request) string {
	if tok := a.sessions.ExistingCSRFToken(r.Context()); tok != "" {
		return tok
	}
	return a.anonCSRF.From(r)
}

// render writes page with status. It renders into a buffer first, so a
// template error becomes a clean 500 instead of half a page, and so the
// session is saved (on the first write) only once the page is complete.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, page string, data templateData) {
	t, ok := a.pages.byName[page]
	if !ok {
		a.serverError(w, r, fmt.Errorf("no template %q", page))
		return
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		a.serverError(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	buf.WriteTo(w)
}
