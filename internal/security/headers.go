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
// SECURITY(headers): the OWASP HTTP Headers Cheat Sheet's baseline, on
// every response — ASVS 5.0 3.4.3–3.4.6, 3.4.8 with csp.go (3.4.1 is
// hsts.go; 3.4.7, a CSP reporting endpoint, is not implemented),
// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html
func Headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()

		// SECURITY(headers): the browser must not guess a content type
		// (MIME sniffing would let an uploaded or reflected text run as
		// script or style) — ASVS 5.0 3.4.4,
		// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html#x-content-type-options
		h.Set("X-Content-Type-Options", "nosniff")

		// SECURITY(headers): no Referer leaves the site, so no path or
		// query of ours (e.g. ?next=/profile) reaches another origin —
		// ASVS 5.0 3.4.5,
		// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html#referrer-policy
		h.Set("Referrer-Policy", "no-referrer")

		// SECURITY(headers): camera, microphone, geolocation and the like
		// are denied to this origin and anything it might embed —
		// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html#permissions-policy-formerly-feature-policy
		h.Set("Permissions-Policy", permissionsPolicy)

		// SECURITY(headers): a window this site opens, or that opens this
		// site, gets no handle on the other (no window.opener tricks,
		// tabnabbing). COOP alone is not cross-origin isolation against
		// Spectre-style reads: that also needs COEP, which is not sent —
		// ASVS 5.0 3.4.8,
		// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Headers_Cheat_Sheet.html#cross-origin-opener-policy-coop
		h.Set("Cross-Origin-Opener-Policy", "same-origin")

		// SECURITY(headers): no framing, for browsers too old for CSP
		// frame-ancestors (csp.go says the same for the rest): clickjacking
		// a logout or login form needs a frame — ASVS 5.0 3.4.6,
		// https://cheatsheetseries.owasp.org/cheatsheets/Clickjacking_Defense_Cheat_Sheet.html#x-frame-options-header-types
		h.Set("X-Frame-Options", "DENY")

		next.ServeHTTP(w, r)
	})
}
