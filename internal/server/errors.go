package server

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/session"
)

// SECURITY(fail-closed): every failure answers a generic page with no stack,
// SQL or Redis text; the details go to the log with the request id —
// ASVS 5.0 16.5.1.

// errorPage renders a page that needs nothing from the session, so it
// works when the session store itself is down.
func (a *app) errorPage(w http.ResponseWriter, r *http.Request, status int, message string) {
	data := templateData{Title: http.StatusText(status), Message: message, Contrast: a.contrastBanner()}
	var buf bytes.Buffer
	if err := a.pages.byName["error"].ExecuteTemplate(&buf, "base", data); err != nil {
		a.log.ErrorContext(r.Context(), "render error page", slog.Any("err", err))
		http.Error(w, http.StatusText(status), status)
		return
	}
	h := w.Header()
	h.Del("Location")
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

func (a *app) serverError(w http.ResponseWriter, r *http.Request, err error) {
	a.log.ErrorContext(r.Context(), "server error", slog.Any("err", err))
	a.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
}

// unavailable answers a dependency failure (database or session store).
//
// SECURITY(fail-closed): an outage is a 503, never a page that treats the
// visitor as signed in — ASVS 5.0 16.5.3.
func (a *app) unavailable(w http.ResponseWriter, r *http.Request, err error) {
	// A client that hung up is not a dependency failure.
	if r.Context().Err() != nil && errors.Is(err, context.Canceled) {
		return
	}
	// Nor is a session that was ended by another request meanwhile.
	if errors.Is(err, session.ErrEnded) {
		a.securityEvent(r, "session.ended_meanwhile", slog.String("session", a.sessions.ShortID(r.Context())))
		a.errorPage(w, r, http.StatusConflict, "Your session was ended (signed out or revoked elsewhere) while this request was in progress. Please log in again.")
		return
	}
	a.outage.failed(r.Context(), err)
	a.serviceUnavailable(w, r)
}

// serviceUnavailable is the generic 503 page, with Retry-After: what a
// visitor sees of any dependency down, named nowhere on it.
func (a *app) serviceUnavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "5")
	a.errorPage(w, r, http.StatusServiceUnavailable, "The service is temporarily unavailable. Please try again in a moment.")
}

// crossOriginRefused answers a state-changing request the browser marked
// as coming from another origin, saying so: it is what a forged form on
// another site gets (the attack lab shows it).
func (a *app) crossOriginRefused(w http.ResponseWriter, r *http.Request) {
	from := r.Header.Get("Sec-Fetch-Site")
	if from == "" {
		from = "Origin: " + r.Header.Get("Origin")
	} else {
		from = "Sec-Fetch-Site: " + from
	}
	a.errorPage(w, r, http.StatusForbidden, "This request was refused: your browser says it was sent by another site ("+from+
		"), and only this site's own pages may change anything here (cross-origin protection). Under SameSite=Strict it did not carry your session cookie either. Nothing was changed.")
}

// csrfRefused answers a form whose CSRF token is missing or wrong.
func (a *app) csrfRefused(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusForbidden, "This request was refused: its CSRF token was missing or did not match the one of your session, so it did not come from a form this site gave you (or the form has expired). Nothing was changed. Go back, reload the page and try again.")
}

// tooManyAttempts answers a throttled login or sign-up: 429, Retry-After
// in whole seconds, and one page for every case — the text does not say
// which budget ran out, so it cannot tell whether an account exists.
//
// SECURITY(throttling): one answer whichever budget ran out, so a
// throttled login tells nothing about the account — ASVS 5.0 6.3.1, 6.3.8,
// RFC 6585 §4.
func (a *app) tooManyAttempts(w http.ResponseWriter, r *http.Request, retryAfter time.Duration) {
	w.Header().Set("Retry-After", retryAfterSeconds(retryAfter))
	a.errorPage(w, r, http.StatusTooManyRequests, "Too many attempts. Please wait a while before trying again.")
}

// hashingBusy answers a request that found every password-hashing slot
// taken (auth.ErrBusy): 503 and a short Retry-After, instead of a queue.
func (a *app) hashingBusy(w http.ResponseWriter, r *http.Request) {
	// One line when the slots fill up, then a count every 10 s while the
	// flood lasts, and one when a hash gets a slot again.
	a.hashBusy.failed(r.Context(), auth.ErrBusy)
	w.Header().Set("Retry-After", retryAfterSeconds(a.slots.MaxWait()))
	a.errorPage(w, r, http.StatusServiceUnavailable, "The service is busy. Please try again in a moment.")
}

// retryAfterSeconds is d in whole seconds, rounded up, at least 1.
func retryAfterSeconds(d time.Duration) string {
	return strconv.FormatInt(max(1, int64((d+time.Second-1)/time.Second)), 10)
}

// bodyFailed answers a request whose body could not be read, with the
// status that says why — never as a forgery.
func (a *app) bodyFailed(w http.ResponseWriter, r *http.Request, why security.BodyFailure) {
	switch why {
	case security.BodyTooLarge:
		a.errorPage(w, r, http.StatusRequestEntityTooLarge, "The form you sent is too large.")
	case security.BodyTimeout:
		w.Header().Set("Connection", "close")
		a.errorPage(w, r, http.StatusRequestTimeout, "The form took too long to arrive. Please send it again.")
	default:
		a.errorPage(w, r, http.StatusBadRequest, "The form arrived incomplete or malformed. Please send it again.")
	}
}

func (a *app) notFound(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusNotFound, "There is no page at this address.")
}

func (a *app) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	a.errorPage(w, r, http.StatusMethodNotAllowed, "This address does not accept that kind of request.")
}
