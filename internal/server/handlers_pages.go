package server

import (
	"context"
	"net/http"
	"time"

	"github.com/sessionlab/sessionlab/internal/security"
)

func (a *app) homeGet(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, http.StatusOK, "home", a.newData(r, "Home"))
}

func (a *app) profileGet(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	data := a.newData(r, "Profile")
	deadline := a.sessions.Deadline(ctx)
	data.Session = &sessionView{
		BoundIP:         a.sessions.BoundIP(ctx).String(),
		CurrentIP:       security.ClientAddr(ctx).String(),
		IPBinding:       string(a.cfg.IPBinding),
		ShortID:         a.sessions.ShortID(ctx),
		Store:           a.sessions.Store().Kind,
		CookieName:      a.cfg.CookieName(),
		CookieAttrs:     a.sessions.CookieAttributes(),
		CookieLifetime:  a.sessions.CookieLifetime(ctx),
		AuthenticatedAt: a.sessions.AuthenticatedAt(ctx),
		IdleTimeout:     a.sessions.IdleTimeout(),
		IdleDeadline:    a.sessions.IdleDeadline(ctx),
		Deadline:        deadline,
	}
	a.render(w, r, http.StatusOK, "profile", data)
}

// healthz answers 200 while the process can serve HTTP at all, and 503
// once it has been told to stop (it still serves for SHUTDOWN_DELAY, so a
// proxy checking this page stops sending it new requests first).
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if a.stopping() {
		w.WriteHeader(http.StatusServiceUnavailable)
		w.Write([]byte("stopping\n"))
		return
	}
	w.Write([]byte("ok\n"))
}

// readyz answers 200 only when the database and the session store both
// answer within a short time.
func (a *app) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	for _, dep := range []struct {
		name string
		ping func(context.Context) error
	}{
		{"database", a.db.Ping},
		{"session store", a.sessions.Store().Ping},
	} {
		if err := dep.ping(ctx); err != nil {
			a.log.WarnContext(r.Context(), "not ready", "dependency", dep.name, "err", err)
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(dep.name + " unavailable\n"))
			return
		}
	}
	w.Write([]byte("ready\n"))
}
