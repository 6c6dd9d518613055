package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/users"
)

// loginFailed is the one message for a wrong email or a wrong password.
//
// SECURITY(passwords): same status, same body and (through the dummy
// bcrypt comparison) the same time whether or not the account exists —
// ASVS 5.0 6.3.8.
const loginFailed = "Email or password is incorrect."

func (a *app) signupGet(w http.ResponseWriter, r *http.Request) {
	data := a.newData(r, "Sign up")
	a.anonForm(w, r, &data)
	a.render(w, r, http.StatusOK, "signup", data)
}

func (a *app) signupPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")

	// SECURITY(throttling): sign-ups are limited per client IP
	// (auth.Throttle) — ASVS 5.0 6.3.8.
	ip := security.ClientAddr(ctx)
	if wait, err := a.throttle.SignupWait(ip); err != nil {
		a.unavailable(w, r, err)
		return
	} else if wait > 0 {
		a.securityEvent(r, "signup.throttled")
		a.tooManyAttempts(w, r, wait)
		return
	}

	data := a.newData(r, "Sign up")
	a.anonForm(w, r, &data)
	data.Form.Email = email
	data.Form.Errors = map[string]string{}
	if msg := checkEmail(email); msg != "" {
		data.Form.Errors["email"] = msg
	}
	if err := auth.ValidateNew(password); err != nil {
		data.Form.Errors["password"] = err.Error()
	}
	if len(data.Form.Errors) > 0 {
		a.render(w, r, http.StatusUnprocessableEntity, "signup", data)
		return
	}

	// Taken before the work it limits (a hash and a row, or an "already
	// exists" answer), atomically: a burst gets no more than the limit.
	if wait, err := a.throttle.ReserveSignup(ip); err != nil {
		a.unavailable(w, r, err)
		return
	} else if wait > 0 {
		a.securityEvent(r, "signup.throttled")
		a.tooManyAttempts(w, r, wait)
		return
	}
	hash, err := a.hashPassword(ctx, password)
	if err != nil {
		a.passwordError(w, r, err)
		return
	}
	u, err := a.users.Create(ctx, email, hash)
	switch {
	case errors.Is(err, users.ErrEmailTaken):
		data.Form.Errors["email"] = "An account with this email already exists. Log in instead."
		a.render(w, r, http.StatusUnprocessableEntity, "signup", data)
		return
	case err != nil:
		a.unavailable(w, r, err)
		return
	}
	if err := a.sessions.Login(r, identityOf(u), security.ClientAddr(ctx), a.stillValid(u.ID, u.Generation)); err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.anonCSRF.Clear(w, r)
	a.securityEvent(r, "signup", slog.Int64("user_id", u.ID), slog.String("session", a.sessions.ShortID(ctx)))
	http.Redirect(w, r, "/profile", http.StatusSeeOther)
}

// checkEmail returns a message for an address that cannot be right, or "".
// It is deliberately loose: the only real check of an address is mail.
func checkEmail(email string) string {
	at := strings.LastIndexByte(email, '@')
	switch {
	case email == "":
		return "Enter your email address."
	case len(email) > 254:
		return "That email address is too long."
	case at < 1 || at == len(email)-1 || strings.ContainsAny(email, " \t\r\n<>\""):
		return "Enter an email address like name@example.com."
	}
	return ""
}

func (a *app) loginGet(w http.ResponseWriter, r *http.Request) {
	data := a.newData(r, "Log in")
	a.anonForm(w, r, &data)
	data.Next = safeNext(r.URL.Query().Get("next"))

	a.render(w, r, http.StatusOK, "login", data)
}

func (a *app) loginPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	email := strings.TrimSpace(r.PostForm.Get("email"))
	password := r.PostForm.Get("password")
	next := safeNext(r.PostForm.Get("next"))
	// The checkbox sends "on" when ticked and nothing otherwise.
	remember := r.PostForm.Get("remember")
	if remember != "" && remember != "on" {
		a.errorPage(w, r, http.StatusBadRequest, `The "keep me signed in" field must be "on" or absent.`)
		return
	}

	if a.slots.Refuses() {
		// A login flood is turned away before it costs a throttle count,
		// a database query or a page: every hashing slot is busy and the
		// queue could not be served within BCRYPT_WAIT. The same for every
		// email and password, so it tells nothing about an account.
		a.hashingBusy(w, r)
		return
	}

	// One unit of the account's and the client IP's budgets is taken
	// before anything else, bcrypt included, atomically with the check;
	// only a failure keeps it (auth.Throttle).
	// SECURITY(throttling): while either budget is spent every attempt is
	// refused with the same 429, the correct password too, whether or not
	// the account exists — ASVS 5.0 6.3.1, 6.3.8.
	ip := security.ClientAddr(ctx)
	reserved, wait, err := a.throttle.ReserveLogin(email, ip)
	if err != nil {
		a.unavailable(w, r, err)
		return
	} else if wait > 0 {
		a.securityEvent(r, "login.throttled")
		a.tooManyAttempts(w, r, wait)
		return
	}
	failed := false
	defer func() {
		if !failed {
			reserved.Release() // not a failed password: give the units back
		}
	}()

	data := a.newData(r, "Log in")
	a.anonForm(w, r, &data)
	data.Next = next
	data.Form.Remember = remember == "on"
	if err := auth.ValidateLength(password); err != nil {
		// Says nothing about the account: the same for every email.
		data.Form.Email = email
		data.Form.Errors = map[string]string{"password": err.Error()}
		a.render(w, r, http.StatusUnprocessableEntity, "login", data)
		return
	}

	u, err := a.users.ByEmail(ctx, email)
	var hash []byte
	switch {
	case err == nil:
		hash = u.PasswordHash
	case errors.Is(err, users.ErrNotFound):
		// hash stays nil: Check compares against the dummy hash.
	default:
		a.unavailable(w, r, err)
		return
	}
	ok, err := a.checkPassword(ctx, hash, password)
	if err != nil {
		a.passwordError(w, r, err)
		return
	}
	if !ok {
		failed = true // only failures use up the budgets
		a.securityEvent(r, "login.failure", slog.Bool("known_account", hash != nil))
		// The email is not echoed back, so the two failures are the same
		// page byte for byte.
		data.Form.Error = loginFailed
		a.render(w, r, http.StatusUnauthorized, "login", data)
		return
	}

	a.upgradeHash(r, u, password)
	if err := a.sessions.Login(r, identityOf(u), ip, a.stillValid(u.ID, u.Generation)); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if remember == "on" {
		// SECURITY(cookie): a persistent cookie only when asked for, on
		// this login; by default the cookie ends with the browser session
		// — OWASP Session Management Cheat Sheet.
		a.sessions.Remember(ctx)
	}
	a.anonCSRF.Clear(w, r) // the session carries the CSRF token from now on
	a.securityEvent(r, "login.success", slog.Int64("user_id", u.ID), slog.String("session", a.sessions.ShortID(ctx)))
	if next == "" {
		next = "/profile"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// clearSiteData asks the browser to drop what it holds when a session
// ends (logout, account deletion): cache and storage for this origin, and
// the cookies of the whole registrable domain (subdomains included).
const clearSiteData = `"cache", "cookies", "storage"`

func (a *app) logoutPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	userID, sid := a.sessions.UserID(ctx), a.sessions.ShortID(ctx)
	if a.defenceOff("logout-delete") {
		a.sessions.ExpireCookie(w) // the contrast build: the session stays in the store
	} else if err := a.sessions.Logout(ctx); err != nil {
		a.unavailable(w, r, err)
		return
	}
	// "cookies" clears the whole registrable domain (subdomains too); the
	// header works only in secure contexts and leaves shared caches alone.
	// Back is handled by no-store (session/writer.go), not by this.
	// SECURITY(logout): the browser is also asked to clear what it holds
	// for the site — ASVS 5.0 14.3.1.
	w.Header().Set("Clear-Site-Data", clearSiteData)
	if userID != 0 {
		a.securityEvent(r, "logout", slog.Int64("user_id", userID), slog.String("session", sid))
	}
	a.setNotice(w, "logged-out")
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
