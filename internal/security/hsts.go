package security

import "net/http"

// HSTSValue is the Strict-Transport-Security value: one year, subdomains
// included.
const HSTSValue = "max-age=31536000; includeSubDomains"

// StrictTransportSecurity sends HSTS on responses served over TLS, and
// only there.
//
// It is decided per request from r.TLS: a browser ignores HSTS received
// over plain HTTP (RFC 6797 §8.1), so the plain listener does not pretend.
// Behind a TLS-terminating proxy (r.TLS is nil here) the proxy must send it.
//
// SECURITY(headers): a browser that has seen it refuses plain HTTP to this
// host for a year, so no one on the network can strip TLS and read the
// session cookie — ASVS 5.0 3.4.1, RFC 6797.
func StrictTransportSecurity(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", HSTSValue)
		}
		next.ServeHTTP(w, r)
	})
}
