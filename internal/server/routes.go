package server

import (
	"io/fs"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/web"
)

// routes is the one place that lists every route and the middleware in
// front of it, in tiers:
//
//	standard  — every request: request id, deadline, security headers,
//	            panic recovery, client IP, access log (LOG_LEVEL=debug),
//	            body limit
//	dynamic   — pages that use the session: cross-origin check, session
//	            load/save (no-store), CSRF token, who is signed in
//	protected — pages for signed-in users only
func (a *app) routes() http.Handler {
	r := chi.NewRouter()
	r.NotFound(a.notFound)
	r.MethodNotAllowed(a.methodNotAllowed)

	// Standard tier. The headers are set before anything can answer, so
	// error pages, 404s, static files and /healthz carry them too.
	r.Use(
		a.requestID,
		a.contrastCookies, // the contrast build's cookie switches; nothing in the default build
		a.deadline,
		security.Headers,
		security.ContentSecurityPolicy,
		security.StrictTransportSecurity,
		a.recoverPanic,
		security.ClientIP(a.cfg.TrustedProxies),
		a.accessLog,
		security.LimitBody,
	)

	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	static, _ := fs.Sub(web.Static, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static))
	r.Get("/static/*", func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") {
			a.notFound(w, r) // files only, no directory listings
			return
		}
		files.ServeHTTP(w, r)
	})

	// Dynamic tier.
	r.Group(func(r chi.Router) {
		r.Use(
			a.unlessOff("csrf", security.CrossOrigin(http.HandlerFunc(a.crossOriginRefused))),
			a.sessions.Middleware,
			a.unlessOff("csrf", security.CSRF(a.csrfWanted, http.HandlerFunc(a.csrfRefused), a.bodyFailed)),
			a.authenticate,
		)

		r.Get("/", a.homeGet)
		r.Get("/practices", a.practicesGet)
		r.Get("/practices/{slug}", a.practiceGet)
		r.Get("/glossary", a.glossaryGet)
		a.contrastRoutes(r) // /lab/defences, in the contrast build only
		r.Post("/logout", a.logoutPost)

		// Anonymous only: a signed-in visitor is sent to the profile.
		r.Group(func(r chi.Router) {
			r.Use(a.redirectIfSignedIn)
			r.Get("/signup", a.signupGet)
			r.Post("/signup", a.signupPost)
			r.Get("/login", a.loginGet)
			r.Post("/login", a.loginPost)
			// The attack lab (LAB_ATTACKER_ADDR): plant a token, as a
			// sibling subdomain or an injected script could.
			if a.lab != nil {
				r.Post("/lab/fixation/plant", a.labPlantPost)
			}
		})

		// Protected tier.
		r.Group(func(r chi.Router) {
			r.Use(a.requireUser)
			r.Get("/profile", a.profileGet)
			r.Get("/sessions", a.sessionsGet)
			r.Post("/sessions/{id}/revoke", a.sessionRevokePost)
			r.Post("/sessions/revoke-others", a.sessionsRevokeOthersPost)
			r.Get("/account/password", a.accountGet)
			r.Post("/account/password", a.accountPasswordPost)
			r.Post("/account/delete", a.accountDeletePost)
		})
	})
	return r
}

// unlessOff applies mw unless the contrast build has switched the defence
// named off; in the default build it is mw itself.
func (a *app) unlessOff(name string, mw func(http.Handler) http.Handler) func(http.Handler) http.Handler {
	if !contrastBuild {
		return mw
	}
	return func(next http.Handler) http.Handler {
		guarded := mw(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if a.defenceOff(name) {
				if r.Method == http.MethodPost {
					r.ParseForm() // the handlers read r.PostForm, which CSRF parses
				}
				next.ServeHTTP(w, r)
				return
			}
			guarded.ServeHTTP(w, r)
		})
	}
}
