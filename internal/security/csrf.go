package security

import (
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"os"
)

// CSRFField is the form field that carries the synchronizer token.
const CSRFField = "csrf_token"

// CrossOrigin rejects state-changing requests that a browser marks as
// not same-origin. GET, HEAD and OPTIONS always pass; any other method
// passes only with Sec-Fetch-Site: same-origin or none (so a sibling
// subdomain, same-site but another origin, is refused too); without that
// header, only when Origin names our Host; with neither header it passes.
//
// net/http's CrossOriginProtection is the first layer against CSRF;
// SameSite=Strict on the cookie is the second; the synchronizer token
// ([CSRF]) is the third, and the only one that also covers clients sending
// neither Sec-Fetch-Site nor Origin.
//
// SECURITY(csrf): a state-changing request a browser marks as coming from
// another origin is refused before any handler — ASVS 5.0 3.5.1, 3.5.3.
func CrossOrigin(deny http.Handler) func(http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(deny)
	return cop.Handler
}

// BodyFailure is why a request body could not be read.
type BodyFailure int

const (
	BodyTooLarge  BodyFailure = iota // over the size limit: 413
	BodyTimeout                      // the read deadline passed: 408
	BodyMalformed                    // cut short or not a valid form: 400
)

// ClassifyBodyError tells a body over the limit, a read that timed out,
// and a body cut short or malformed apart.
func ClassifyBodyError(err error) BodyFailure {
	var tooBig *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooBig):
		return BodyTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return BodyTimeout
	}
	return BodyMalformed
}

// CSRF checks the synchronizer token on every request with an unsafe
// method. want returns the token the request must carry: the one stored in
// the visitor's session, or for an anonymous visitor the AnonCSRF cookie's
// ("" when it has none, which never matches). The form is parsed here,
// under the body limit, so a body that cannot be read answers bodyFailed
// (413, 408 or 400) and a missing or wrong token answers deny; neither
// reaches the handler.
//
// SECURITY(csrf): a per-session random token in every form, the login form
// included (login CSRF signs the victim into the attacker's account),
// compared in constant time — ASVS 5.0 3.5.1.
func CSRF(want func(*http.Request) string, deny http.Handler, bodyFailed func(http.ResponseWriter, *http.Request, BodyFailure)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.Method {
			case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
				next.ServeHTTP(w, r)
				return
			}
			if err := r.ParseForm(); err != nil {
				// The body could not be read: say what went wrong, not
				// that the request was forged.
				bodyFailed(w, r, ClassifyBodyError(err))
				return
			}
			if !ValidToken(want(r), r.PostForm.Get(CSRFField)) {
				deny.ServeHTTP(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// ValidToken reports whether the submitted token equals the session's, in
// constant time. An empty session token never matches.
func ValidToken(want, got string) bool {
	if want == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
