package server

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
)

// labPlantPost plants a session token of the lab's choosing in the
// visitor's browser — what a sibling subdomain or an injected script could
// do — and hands it to the attacker site, which later tries to use it.
// The app never issued it, so it names no session; at login the app issues
// a new token anyway (the fixation practice shows both).
//
// SECURITY(fixation): served only when LAB_ATTACKER_ADDR turns the lab on,
// only to anonymous visitors (a planted cookie would replace a signed-in
// one), behind the same CSRF checks as every form — ASVS 5.0 7.2.4,
// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-id-generation-and-verification-permissive-and-strict-session-management
func (a *app) labPlantPost(w http.ResponseWriter, r *http.Request) {
	b := make([]byte, 32) // the shape of an scs token: 32 random bytes
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: a.cfg.CookieName(), Value: token, Path: "/",
		Secure: a.cfg.CookieSecure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	a.lab.Plant(token)
	a.securityEvent(r, "lab.token_planted")
	http.Redirect(w, r, "/practices/fixation", http.StatusSeeOther)
}
