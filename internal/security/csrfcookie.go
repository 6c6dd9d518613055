package security

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"
)

// anonCSRFLifetime is how long a login or sign-up form stays usable.
const anonCSRFLifetime = 2 * time.Hour

// AnonCSRF gives the login and sign-up forms their CSRF token without a
// server-side session: a random value in a cookie of its own, repeated in
// the form (double submit). Nothing is stored on the server.
//
// Anonymous visitors cost no store write. The cookie is __Host- (a sibling
// subdomain or a plain-HTTP attacker cannot plant or overwrite it, which
// is what breaks naive double submit), HttpOnly, SameSite=Strict and
// short-lived, on top of the cross-origin check.
//
// SECURITY(csrf): the login and sign-up forms are protected without a
// session, by a __Host- double-submit cookie an attacker cannot plant —
// ASVS 5.0 3.5.1.
type AnonCSRF struct {
	name   string
	secure bool
}

// NewAnonCSRF names the cookie "__Host-csrf", or "csrf" when cookies
// cannot be Secure (then the __Host- prefix is not allowed).
func NewAnonCSRF(secure bool) AnonCSRF {
	if secure {
		return AnonCSRF{name: "__Host-csrf", secure: true}
	}
	return AnonCSRF{name: "csrf"}
}

// Token returns the visitor's form token, setting the cookie when the
// request has none.
func (a AnonCSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if tok := a.From(r); tok != "" {
		return tok
	}
	b := make([]byte, 32)
	rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, a.cookie(tok, int(anonCSRFLifetime/time.Second)))
	return tok
}

// From returns the token the request's cookie carries ("" when none).
func (a AnonCSRF) From(r *http.Request) string {
	c, err := r.Cookie(a.name)
	if err != nil || len(c.Value) != 43 { // 32 bytes, base64url
		return ""
	}
	return c.Value
}

// Clear expires the cookie (after login: the session carries a token now).
func (a AnonCSRF) Clear(w http.ResponseWriter, r *http.Request) {
	if a.From(r) != "" {
		http.SetCookie(w, a.cookie("", -1))
	}
}

func (a AnonCSRF) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: a.name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: a.secure, HttpOnly: true, SameSite: http.SameSiteStrictMode}
}
