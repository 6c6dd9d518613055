package security

import "net/http"

// MaxFormBytes bounds a request body. Session Lab's forms are a few
// hundred bytes; 64 KiB leaves room and stops memory exhaustion.
const MaxFormBytes = 64 << 10

// LimitBody caps every request body at MaxFormBytes; reading past it fails
// with *http.MaxBytesError, which [CSRF] answers through bodyFailed as
// [BodyTooLarge] (the app's 413).
//
// SECURITY(dos): no request body is read past 64 KiB, so a large one
// cannot exhaust memory — ASVS 5.0 15.2.2.
func LimitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, MaxFormBytes)
		next.ServeHTTP(w, r)
	})
}
