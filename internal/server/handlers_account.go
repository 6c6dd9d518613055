package server

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/users"
)

func (a *app) accountGet(w http.ResponseWriter, r *http.Request) {
	data := a.newData(r, "Account")
	data.SignOutOthers = true
	a.render(w, r, http.StatusOK, "account", data)
}

// accountPasswordPost changes the password. The token is renewed keeping
// the absolute deadline.
//
// SECURITY(revocation): the current password is required, so a stolen
// session alone cannot take over the account, and "sign out other devices"
// (checked by default) ends every other session — ASVS 5.0 6.2.3, 7.2.4,
// 7.4.3.
func (a *app) accountPasswordPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	current := r.PostForm.Get("current_password")
	next := r.PostForm.Get("new_password")
	signOutOthers := r.PostForm.Get("sign_out_others") != ""

	data := a.newData(r, "Account")
	data.SignOutOthers = signOutOthers
	data.Form.Errors = map[string]string{}
	stored, ok, err := a.checkOwnPassword(r, current)
	if err != nil {
		a.passwordCheckFailed(w, r, err)
		return
	}
	if !ok {
		data.Form.Errors["current_password"] = "Your current password is not correct."
	}
	if err := auth.ValidateNew(next); err != nil {
		data.Form.Errors["new_password"] = err.Error()
	}
	if len(data.Form.Errors) > 0 {
		a.render(w, r, http.StatusUnprocessableEntity, "account", data)
		return
	}

	hash, err := a.hashPassword(ctx, next)
	if err != nil {
		a.passwordError(w, r, err)
		return
	}
	// Compare-and-set on the hash just checked: of two concurrent changes,
	// one wins and the other is told so, with nothing changed.
	gen, err := a.users.ChangePassword(ctx, u.ID, stored.PasswordHash, hash)
	if errors.Is(err, users.ErrChanged) {
		data.Form.Errors["current_password"] = "Your password was changed meanwhile, from another session. Nothing was changed here: try again with the current password."
		a.render(w, r, http.StatusUnprocessableEntity, "account", data)
		return
	}
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	old := a.sessions.ShortID(ctx)
	if err := a.sessions.Reauthenticated(r, security.ClientAddr(ctx), gen, a.stillValid(u.ID, gen)); err != nil {
		a.unavailable(w, r, err)
		return
	}
	sid := a.sessions.ShortID(ctx)
	a.securityEvent(r, "password.changed", slog.Int64("user_id", u.ID), slog.String("session", sid))
	a.securityEvent(r, "token.renewed", slog.Int64("user_id", u.ID), slog.String("session", sid),
		slog.String("previous_session", old), slog.String("reason", "password change"))
	msg := "Your password has been changed."
	if signOutOthers {
		n, err := a.sessions.RevokeOthers(ctx, u.ID, a.sessions.CurrentID(ctx))
		if err != nil {
			a.unavailable(w, r, err)
			return
		}
		a.securityEvent(r, "sessions.revoke_others", slog.Int64("user_id", u.ID), slog.String("session", sid), slog.Int("ended", n), slog.String("reason", "password change"))
		msg += " " + signedOutOthersMessage(n)
	}
	a.sessions.Flash(ctx, msg)
	http.Redirect(w, r, "/profile", http.StatusSeeOther)
}

// accountDeletePost deletes the account and every session it has. A
// session that slips through finds no user and is destroyed by
// authenticate.
//
// SECURITY(revocation): the password is always asked for (the action
// cannot be undone), and every session ends before the user row goes —
// ASVS 5.0 7.4.2, 7.5.3.
func (a *app) accountDeletePost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	switch err := a.reauthenticate(r, true); {
	case errors.Is(err, errReauthNeeded):
		data := a.newData(r, "Account")
		data.SignOutOthers = true
		data.Form.Errors = map[string]string{"password": "Enter your password to delete your account."}
		a.render(w, r, http.StatusForbidden, "account", data)
		return
	case err != nil:
		a.passwordCheckFailed(w, r, err)
		return
	}
	sid := a.sessions.ShortID(ctx)
	// The generation first, then the sessions: a login racing this one
	// either is listed below or sees the bump and ends itself.
	if err := a.users.BumpGeneration(ctx, u.ID); err != nil {
		a.unavailable(w, r, err)
		return
	}
	n, err := a.sessions.RevokeOthers(ctx, u.ID, "")
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if err := a.users.Delete(ctx, u.ID); err != nil {
		a.unavailable(w, r, err)
		return
	}
	if err := a.sessions.Logout(ctx); err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.securityEvent(r, "account.deleted", slog.Int64("user_id", u.ID), slog.String("session", sid), slog.Int("sessions_ended", n))
	w.Header().Set("Clear-Site-Data", clearSiteData)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
