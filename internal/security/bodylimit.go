package security

import "net/http"

// MaxFormBytes bounds a request body. Session Lab's forms are a few
// hundred bytes; 64 KiB leaves room and stops memory exhaustion.
const MaxFormBytes = 64 << 10

// LimitBody caps every request body at MaxFormBytes; reading past it fails
// with *http.MaxBytesError, which the form parser turns into a 413.
//
// SECURITY(dos): bounded request bodies — ASVS 5.0 2.4.1 (anti-automation
// against excessive calls and costly resources),
// https://cheatsheetseries.owasp.org/cheatsheets/Denial_of_Service_Cheat_Sheet.html
func LimitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}
