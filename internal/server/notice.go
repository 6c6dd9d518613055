package server

import "net/http"

// notices are the messages a redirect that ends a session leaves for the
// next page, by code. The code travels in a short-lived cookie of its own,
// so saying "your session has ended" costs no session and no store write;
// only these fixed texts can appear, whatever the cookie says.
var notices = map[string]string{
	"ended":      sessionEndedMessage,
	"ip":         ipChangedMessage,
	"logged-out": "You are logged out: your session was deleted from the store, so a copy of its cookie no longer works anywhere.",
}

// noticeCookie is "__Host-notice", or "notice" when cookies are not Secure.
func (a *app) noticeCookie() string {
	if a.cfg.CookieSecure {
		return "__Host-notice"
	}
	return "notice"
}

// setNotice leaves the message code for the next page.
func (a *app) setNotice(w http.ResponseWriter, code string) {
	http.SetCookie(w, &http.Cookie{Name: a.noticeCookie(), Value: code, Path: "/", MaxAge: 60,
		Secure: a.cfg.CookieSecure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// takeNotice returns the message the request's notice cookie names ("" if
// none) and expires the cookie, so it is shown once.
func (a *app) takeNotice(w http.ResponseWriter, r *http.Request) string {
	c, err := r.Cookie(a.noticeCookie())
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: a.noticeCookie(), Value: "", Path: "/", MaxAge: -1,
		Secure: a.cfg.CookieSecure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	return notices[c.Value]
}
