package server

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/users"
)

// sessionRow is one line of the sessions page.
type sessionRow struct {
	ID, Device, IP    string
	Created, LastSeen time.Time
	Current           bool
	// "5 min ago", shown with the exact time on hover.
	CreatedAgo, LastSeenAgo string
}

// ago says how long before now t was, in the largest whole unit: "just
// now", "5 min ago", "3 h ago", "2 days ago".
func ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return strconv.Itoa(int(d/time.Minute)) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d/time.Hour)) + " h ago"
	default:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days ago"
	}
}

// needsReauth reports whether a sensitive action must ask for the password
// again: the last password check is older than REAUTH_WINDOW.
func (a *app) needsReauth(r *http.Request) bool {
	return time.Since(a.sessions.AuthenticatedAt(r.Context())) > a.cfg.ReauthWindow
}

// errReauthNeeded means the action must be confirmed with the password.
var errReauthNeeded = errors.New("re-authentication needed")

// throttledError means the password may not be tried now.
type throttledError struct{ wait time.Duration }

func (e throttledError) Error() string { return "password attempts throttled" }

// checkOwnPassword checks a signed-in user's password under the same
// throttle and hashing slots as a login, so a stolen cookie cannot be used
// to guess the password here without limit. It returns the user as stored
// now; a session whose credentials changed since it was authenticated
// (another session changed the password) is ended: session.ErrEnded.
func (a *app) checkOwnPassword(r *http.Request, password string) (users.User, bool, error) {
	ctx := r.Context()
	who := userFrom(ctx)
	reserved, wait, err := a.throttle.ReserveReauth(a.sessions.CurrentID(ctx))
	if err != nil {
		return users.User{}, false, err
	} else if wait > 0 {
		return users.User{}, false, throttledError{wait}
	}
	failed := false
	defer func() {
		if !failed {
			reserved.Release() // only a wrong password uses up the budget
		}
	}()
	u, err := a.users.ByID(ctx, who.ID)
	if errors.Is(err, users.ErrNotFound) || (err == nil && u.Generation != who.Generation) {
		// SECURITY(revocation): a session authenticated under an older
		// password, or of a deleted account, is ended — ASVS 5.0 7.4.2,
		// 7.4.3.
		if err := a.sessions.Logout(ctx); err != nil {
			return users.User{}, false, err
		}
		return users.User{}, false, session.ErrEnded
	}
	if err != nil {
		return users.User{}, false, err
	}
	ok, err := a.checkPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, auth.ErrPasswordTooLong) {
		ok, err = false, nil
	}
	if err != nil {
		return users.User{}, false, err
	}
	if !ok {
		failed = true
		a.securityEvent(r, "reauth.failure", slog.Int64("user_id", u.ID), slog.String("session", a.sessions.ShortID(ctx)))
	}
	return u, ok, nil
}

// reauthenticate applies the re-authentication rule to a sensitive POST.
// Within REAUTH_WINDOW of the last password check (and when always is
// false) it passes without asking. Otherwise the form's `password` must be
// right; a right one is a fresh authentication: new token, same absolute
// deadline.
//
// SECURITY(revocation): ending sessions and deleting the account need a
// recent password check, so a borrowed browser or a stolen cookie cannot
// lock the owner out or destroy the account — ASVS 5.0 7.5.2, 7.5.3.
func (a *app) reauthenticate(r *http.Request, always bool) error {
	ctx := r.Context()
	if !always && !a.needsReauth(r) {
		return nil
	}
	pw := r.PostForm.Get("password")
	if pw == "" {
		return errReauthNeeded
	}
	u, ok, err := a.checkOwnPassword(r, pw)
	if err != nil {
		return err
	}
	if !ok {
		return errReauthNeeded
	}
	old := a.sessions.ShortID(ctx)
	if err := a.sessions.Reauthenticated(r, security.ClientAddr(ctx), u.Generation, a.stillValid(u.ID, u.Generation)); err != nil {
		return err
	}
	a.securityEvent(r, "token.renewed", slog.Int64("user_id", userFrom(ctx).ID), slog.String("session", a.sessions.ShortID(ctx)),
		slog.String("previous_session", old), slog.String("reason", "re-authentication"))
	return nil
}

// passwordCheckFailed answers an error of checkOwnPassword or
// reauthenticate other than errReauthNeeded.
func (a *app) passwordCheckFailed(w http.ResponseWriter, r *http.Request, err error) {
	var throttled throttledError
	switch {
	case errors.As(err, &throttled):
		a.tooManyAttempts(w, r, throttled.wait)
	case errors.Is(err, auth.ErrBusy):
		a.passwordError(w, r, err)
	default:
		a.unavailable(w, r, err)
	}
}

func (a *app) sessionsGet(w http.ResponseWriter, r *http.Request) {
	a.renderSessions(w, r, http.StatusOK, "")
}

// renderSessions shows the user's live sessions, the current one marked.
func (a *app) renderSessions(w http.ResponseWriter, r *http.Request, status int, problem string) {
	ctx := r.Context()
	entries, err := a.sessions.List(ctx, userFrom(ctx).ID)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	data := a.newData(r, "Your sessions")
	current, now := a.sessions.CurrentID(ctx), time.Now()
	for _, e := range entries {
		data.Sessions = append(data.Sessions, sessionRow{
			ID: e.ID, Device: e.Device, IP: e.IP, Created: e.Created, LastSeen: e.LastSeen, Current: e.ID == current,
			CreatedAgo: ago(now, e.Created), LastSeenAgo: ago(now, e.LastSeen),
		})
	}
	data.NeedsPassword = a.needsReauth(r)
	data.MaxSessions = a.sessions.MaxSessions()
	data.Form.Error = problem
	a.render(w, r, status, "sessions", data)
}

// recentlyAuthenticated applies reauthenticate for the sessions page's
// actions; when it answers false it has written the response (403 with the
// page asking for the password, 429 or 503).
func (a *app) recentlyAuthenticated(w http.ResponseWriter, r *http.Request) bool {
	switch err := a.reauthenticate(r, false); {
	case errors.Is(err, errReauthNeeded):
		a.renderSessions(w, r, http.StatusForbidden, reauthMessage)
		return false
	case err != nil:
		a.passwordCheckFailed(w, r, err)
		return false
	}
	return true
}

const reauthMessage = "Enter your password to confirm: your last sign-in is older than the re-authentication window."

func (a *app) sessionRevokePost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	id := chi.URLParam(r, "id")
	if id == a.sessions.CurrentID(ctx) {
		a.logoutPost(w, r) // ending this session is logging out: no password needed
		return
	}
	if !a.recentlyAuthenticated(w, r) {
		return
	}
	found, err := a.sessions.Revoke(ctx, u.ID, id)
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	if !found {
		a.errorPage(w, r, http.StatusNotFound, "There is no such session: it may have ended already.")
		return
	}
	a.securityEvent(r, "session.revoked", slog.Int64("user_id", u.ID), slog.String("session", a.sessions.ShortID(ctx)), slog.String("revoked", id))
	a.sessions.Flash(ctx, "That session has ended: its cookie no longer works.")
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

func (a *app) sessionsRevokeOthersPost(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	u := userFrom(ctx)
	if !a.recentlyAuthenticated(w, r) {
		return
	}
	n, err := a.sessions.RevokeOthers(ctx, u.ID, a.sessions.CurrentID(ctx))
	if err != nil {
		a.unavailable(w, r, err)
		return
	}
	a.securityEvent(r, "sessions.revoke_others", slog.Int64("user_id", u.ID), slog.String("session", a.sessions.ShortID(ctx)), slog.Int("ended", n))
	a.sessions.Flash(ctx, signedOutOthersMessage(n))
	http.Redirect(w, r, "/sessions", http.StatusSeeOther)
}

func signedOutOthersMessage(n int) string {
	switch n {
	case 0:
		return "There were no other sessions to end."
	case 1:
		return "1 other session has ended."
	}
	return strconv.Itoa(n) + " other sessions have ended."
}

// activeSessions returns the user's live sessions, for the practice pages
// that show how many there are (the profile does not, to stay at one store
// read).
func (a *app) activeSessions(r *http.Request) ([]session.Entry, error) {
	return a.sessions.List(r.Context(), userFrom(r.Context()).ID)
}
