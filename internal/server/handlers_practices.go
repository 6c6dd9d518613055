package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/lab"
	"github.com/sessionlab/sessionlab/internal/security"
)

func (a *app) practicesGet(w http.ResponseWriter, r *http.Request) {
	data := a.newData(r, "Practices")
	data.Practices = lab.Practices
	a.render(w, r, http.StatusOK, "practices", data)
}

// glossaryGet defines the terms the practice pages link to.
func (a *app) glossaryGet(w http.ResponseWriter, r *http.Request) {
	data := a.newData(r, "Glossary")
	data.Glossary = lab.Glossary
	a.render(w, r, http.StatusOK, "glossary", data)
}

// practiceGet shows one practice with the live evidence from the
// visitor's own session and this very request.
func (a *app) practiceGet(w http.ResponseWriter, r *http.Request) {
	p, ok := lab.Find(chi.URLParam(r, "slug"))
	if !ok {
		a.notFound(w, r)
		return
	}
	facts, err := a.labFacts(w, r)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if p.Slug == "storage" && facts.SignedIn {
		name, ttl, found, err := a.sessions.StoredAs(r.Context())
		if err != nil {
			a.unavailable(w, r, err)
			return
		}
		if found {
			facts.StoredAs, facts.StoreTTL = name, ttl
		}
	}
	data := a.newData(r, p.Title)
	data.Practice = &p
	data.IdleDeadline = facts.IdleDeadline
	if a.lab != nil {
		data.LabURL = a.lab.URL()
		a.anonForm(w, r, &data) // the plant form's token, without a session
	}
	if !p.SignedIn || facts.SignedIn {
		data.Evidence = p.Evidence(facts)
	}
	a.render(w, r, http.StatusOK, "practice", data)
}

// labFacts gathers what the practice pages show. The security headers are
// read from w: the standard middleware tier has already set them on this
// response.
func (a *app) labFacts(w http.ResponseWriter, r *http.Request) (lab.Facts, error) {
	ctx := r.Context()
	_, cookieErr := r.Cookie(a.sessions.CookieName())
	deadline := a.sessions.Deadline(ctx)
	f := lab.Facts{
		CookieName:      a.sessions.CookieName(),
		CookieSent:      cookieErr == nil,
		CookieAttrs:     a.sessions.CookieAttributes(),
		CookieLifetime:  a.sessions.CookieLifetime(ctx),
		ShortID:         a.sessions.ShortID(ctx),
		PreLoginShortID: a.sessions.PreLoginShortID(ctx),
		Store:           a.sessions.Store().Kind,
		IdleTimeout:     a.sessions.IdleTimeout(),
		Lifetime:        a.sessions.Lifetime(),
		IdleDeadline:    a.sessions.IdleDeadline(ctx),
		Deadline:        deadline,
		AuthenticatedAt: a.sessions.AuthenticatedAt(ctx),
		ReauthWindow:    a.cfg.ReauthWindow,
		IPBinding:       string(a.cfg.IPBinding),
		CurrentIP:       security.ClientAddr(ctx).String(),
		TrustedProxies:  len(a.cfg.TrustedProxies),
		ConfiguredCost:  a.hasher.Cost(),
		SecFetchSite:    r.Header.Get("Sec-Fetch-Site"),
		AccountLimit:    a.cfg.LoginAccountLimit,
		IPLimit:         a.cfg.LoginIPLimit,
		ThrottleWindow:  a.cfg.ThrottleWindow,
		TLS:             r.TLS != nil,
		ResponseHeaders: map[string]string{},
	}
	for _, h := range lab.ShownHeaders {
		f.ResponseHeaders[h] = w.Header().Get(h)
	}
	if u := userFrom(ctx); u != nil {
		f.SignedIn = true
		f.BoundIP = a.sessions.BoundIP(ctx).String()
		stored, err := a.users.ByID(ctx, u.ID)
		if err != nil {
			return f, err
		}
		f.StoredCost, _ = bcrypt.Cost(stored.PasswordHash)
		entries, err := a.activeSessions(r)
		if err != nil {
			return f, err
		}
		f.ActiveSessions = len(entries)
	} else {
		// An anonymous visitor has no signed-in session yet: no id to show.
		f.ShortID, f.PreLoginShortID = "", ""
	}
	return f, nil
}
