package security

import "net/http"

// permissionsPolicy turns off every powerful browser feature Session Lab
// has no use for. A page that never asks for the camera loses nothing, and
// a script injected despite the CSP cannot ask either.
const permissionsPolicy = "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), " +
	"magnetometer=(), microphone=(), midi=(), payment=(), usb=()"

// Headers sets the browser-hardening headers that do not depend on the
// page: they are set before the handler runs, so every response carries
// them — pages, static files, error pages, /healthz. The Content-Security-
// Policy (csp.go) and Strict-Transport-Security (hsts.go) have files of
// their own.
//
// With csp.go and hsts.go this covers ASVS 5.0 3.4.1 and 3.4.3–3.4.8,
// except 3.4.7 (a CSP reporting endpoint).
//
// SECURITY(headers): the OWASP HTTP Headers Cheat Sheet's baseline, on
// every response.
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()

		// SECURITY(headers): the browser must not guess a content type
		// (MIME sniffing would let an uploaded or reflected text run as
		// script or style) — ASVS 5.0 3.4.4.
		h.Set("X-Content-Type-Options", "nosniff")

		// SECURITY(headers): no Referer leaves the site, so no path or
		// query of ours (e.g. ?next=/profile) reaches another origin —
		// ASVS 5.0 3.4.5.
		h.Set("Referrer-Policy", "no-referrer")

		// SECURITY(headers): camera, microphone, geolocation and the like
		// are denied to this origin and anything it might embed — OWASP
		// HTTP Headers Cheat Sheet.
		h.Set("Permissions-Policy", permissionsPolicy)

		// COOP alone is not cross-origin isolation against Spectre-style
		// reads: that also needs COEP, which is not sent.
		// SECURITY(headers): a window this site opens, or that opens this
		// site, gets no handle on the other (no window.opener tricks,
		// tabnabbing) — ASVS 5.0 3.4.8.
		h.Set("Cross-Origin-Opener-Policy", "same-origin")

		// SECURITY(headers): no framing, for browsers too old for CSP
		// frame-ancestors (csp.go says the same for the rest): clickjacking
		// a logout or login form needs a frame — ASVS 5.0 3.4.6.
		h.Set("X-Frame-Options", "DENY")

		next.ServeHTTP(w, r)
	})
}
