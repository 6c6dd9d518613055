// Package security holds the HTTP-level defences that are not about the
// session itself: security headers (headers.go, csp.go, hsts.go), the
// cross-origin check and the synchronizer-token CSRF check with the
// classification of unreadable bodies (csrf.go), the login and sign-up
// forms' double-submit CSRF cookie (csrfcookie.go), client-IP resolution
// through trusted proxies (clientip.go) and the request body limit
// (bodylimit.go).
package security
