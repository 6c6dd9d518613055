package security

import "net/http"

// HSTSValue is the Strict-Transport-Security value: one year, subdomains
// included.
const HSTSValue = "max-age=31536000; includeSubDomains"

// StrictTransportSecurity sends HSTS on responses served over TLS, and
// only there.
//
// SECURITY(headers): once a browser has seen this header over HTTPS, it refuses
// plain HTTP to this host for a year, so an attacker on the network cannot
// strip TLS and read the session cookie. It is decided per request from
// r.TLS: a browser ignores HSTS received over plain HTTP (RFC 6797 §8.1), so
// the plain listener does not pretend. Behind a TLS-terminating proxy (r.TLS
// is nil here) the proxy must send it — ASVS 5.0 3.4.1,
// https://cheatsheetseries.owasp.org/cheatsheets/HTTP_Strict_Transport_Security_Cheat_Sheet.html
func StrictTransportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", HSTSValue)
		}
		next.ServeHTTP(w, r)
	})
}
