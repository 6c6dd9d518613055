package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5/middleware"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/security"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/users"
)

type ctxKey int

const (
	ctxRequestID ctxKey = iota
	ctxUser
	ctxNotice // a message for this page only (e.g. "your session has ended")
)

// noticeFrom is the message for this page set by the middleware, or "".
func noticeFrom(ctx context.Context) string {
	n, _ := ctx.Value(ctxNotice).(string)
	return n
}

// requestID gives every request an id generated here, for the logs and
// the X-Request-Id response header.
//
// SECURITY(logging): an incoming X-Request-Id is not trusted (chi's
// RequestID middleware would adopt it), so a client cannot forge or
// collide log correlation ids — ASVS 5.0 16.2.1.
func (a *app) requestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := make([]byte, 8)
		rand.Read(b)
		id := hex.EncodeToString(b)
		w.Header().Set("X-Request-Id", id)
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxRequestID, id)))
	})
}

// deadline runs the request under REQUEST_TIMEOUT: every store and
// database call takes its context, so a dependency that hangs is a 503 at
// the deadline (config.go says why).
func (a *app) deadline(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.RequestTimeout <= 0 { // a Config not made by config.Load
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), a.cfg.RequestTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

func requestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(ctxRequestID).(string)
	return id
}

// requestIDHandler adds the request id of the context (see requestID) to
// every record logged with one, so that no log call has to: a.log's lines
// in a request are *Context calls. The id comes first among the record's
// own attributes (inside the logger's group, if it has one).
type requestIDHandler struct{ slog.Handler }

// withRequestID wraps h in a requestIDHandler (NewServer does, for a.log).
func withRequestID(h slog.Handler) slog.Handler {
	if _, ok := h.(requestIDHandler); ok {
		return h
	}
	return requestIDHandler{h}
}

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	id := ""
	if ctx != nil {
		id = requestIDFrom(ctx)
	}
	if id == "" {
		return h.Handler.Handle(ctx, r)
	}
	withID := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	withID.AddAttrs(slog.String("request_id", id))
	r.Attrs(func(a slog.Attr) bool {
		withID.AddAttrs(a)
		return true
	})
	return h.Handler.Handle(ctx, withID)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// recoverPanic turns a panic into the generic 500 page and a log record
// with the stack; the stack never reaches the client.
func (a *app) recoverPanic(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			rec := recover()
			if rec == nil {
				return
			}
			if rec == http.ErrAbortHandler {
				panic(rec)
			}
			a.log.ErrorContext(r.Context(), "panic",
				slog.Any("panic", fmt.Sprint(rec)),
				slog.String("stack", string(debug.Stack())))
			a.errorPage(w, r, http.StatusInternalServerError, "Something went wrong on our side. Please try again.")
		}()
		next.ServeHTTP(w, r)
	})
}

// authenticate resolves the session to a user, in this order:
//   - a cookie that no live session answers to: say why on the next page;
//   - the idle expiry and the registry's "last seen", once per refresh
//     interval (Manager.Touch), for anonymous sessions too;
//   - the IP binding policy: a rejected client loses the session at once;
//   - the user, as the session recorded it at login: no database read.
//
// Revocation needs no lookup here: an ended session is deleted from the
// store, so it does not load, and the guard undoes a write-back by a
// request in flight. A password change or an account deletion ends the
// sessions it must through the registry (see session.Manager.Login for why
// no interleaving escapes it).
func (a *app) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if msg := a.takeNotice(w, r); msg != "" {
			ctx = context.WithValue(ctx, ctxNotice, msg)
			r = r.WithContext(ctx)
		}
		if a.sessions.StaleCookie(r) {
			// Said on this page (and, through a notice cookie, on the
			// login page a redirect leads to), and the dead cookie is
			// expired: no new session, no store write for a visitor who
			// is not signed in.
			a.sessions.ExpireCookie(w)
			ctx = context.WithValue(ctx, ctxNotice, sessionEndedMessage)
			r = r.WithContext(ctx)
		}
		current := security.ClientAddr(ctx)
		if err := a.sessions.Touch(ctx, current); err != nil {
			a.unavailable(w, r, err)
			return
		}
		a.outage.ok(ctx) // the session store answered
		who := a.sessions.Identity(ctx)
		if who.UserID == 0 {
			next.ServeHTTP(w, r)
			return
		}

		bound := a.sessions.BoundIP(ctx)
		policy := a.cfg.IPBinding
		if a.defenceOff("ip-binding") {
			policy = config.IPBindingOff
		}
		verdict := session.CheckIP(policy, bound, current)
		if verdict != session.IPAllowed {
			action := "logged"
			if verdict == session.IPRejected {
				action = "session destroyed"
			}
			a.securityEvent(r, "ip.mismatch", slog.Int64("user_id", who.UserID), slog.String("session", a.sessions.ShortID(ctx)),
				slog.String("bound_ip", bound.String()), slog.String("action", action))
		}
		if verdict == session.IPRejected {
			if err := a.sessions.Logout(ctx); err != nil {
				a.unavailable(w, r, err)
				return
			}
			a.setNotice(w, "ip")
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		u := &users.User{ID: who.UserID, Email: who.Email, CreatedAt: who.Joined, Generation: who.Generation}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, ctxUser, u)))
	})
}

// identityOf is what a session records of u at login.
func identityOf(u users.User) session.Identity {
	return session.Identity{UserID: u.ID, Email: u.Email, Joined: u.CreatedAt, Generation: u.Generation}
}

// stillValid re-reads user id after a session was registered: it is valid
// while the user exists with the same credential generation.
func (a *app) stillValid(id, generation int64) session.StillValid {
	return func(ctx context.Context) (bool, error) {
		u, err := a.users.ByID(ctx, id)
		if errors.Is(err, users.ErrNotFound) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		return u.Generation == generation, nil
	}
}

// sessionEndedMessage is shown when a visitor's cookie no longer matches a
// live session, so they know why they must sign in again.
const sessionEndedMessage = "Your session has ended: it timed out, was signed out, or was ended from another device. Please log in again."

// ipChangedMessage explains a sign-out by IP binding.
const ipChangedMessage = "You were signed out because this request came from a different network address than the one you signed in from. If that was you, please log in again."

// userFrom is the signed-in user as the session recorded it, or nil. It
// has no PasswordHash: code that checks the password reads the user.
func userFrom(ctx context.Context) *users.User {
	u, _ := ctx.Value(ctxUser).(*users.User)
	return u
}

// requireUser sends an anonymous visitor to the login page, remembering
// where they were going.
func (a *app) requireUser(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) == nil {
			target := "/login"
			if r.Method == http.MethodGet {
				target += "?next=" + strings.ReplaceAll(url.QueryEscape(r.URL.RequestURI()), "%2F", "/")
			}
			if noticeFrom(r.Context()) == sessionEndedMessage {
				a.setNotice(w, "ended") // say why on the login page
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// redirectIfSignedIn keeps signed-in users off the login and signup forms.
func (a *app) redirectIfSignedIn(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if userFrom(r.Context()) != nil {
			http.Redirect(w, r, "/profile", http.StatusSeeOther)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// safeNext returns next when it is a path on this site, else "".
//
// SECURITY(redirects): only a same-site absolute path is followed after
// login; "//host", "/\host", schemes and hosts are ignored, so the login
// form cannot be used as an open redirect — ASVS 5.0 3.7.2.
func safeNext(next string) string {
	if len(next) == 0 || len(next) > 2048 || next[0] != '/' {
		return ""
	}
	if strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') {
		return ""
	}
	for _, c := range next {
		if c < 0x20 || c == 0x7f {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// accessLog writes one debug record per request (LOG_LEVEL=debug): method,
// path, status, duration, request id and client address. Off at the default
// level, so an outage's refused requests do not flood the log (outagelog.go).
//
// SECURITY(logging): the path only — never the query string, a header or a
// cookie — so no token or form value reaches the log — ASVS 5.0 16.2.5.
func (a *app) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !a.log.Enabled(r.Context(), slog.LevelDebug) {
			next.ServeHTTP(w, r)
			return
		}
		start := time.Now()
		ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
		defer func() {
			status := ww.Status()
			if status == 0 {
				status = http.StatusOK
			}
			a.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
				slog.String("method", r.Method),
				slog.String("path", r.URL.Path),
				slog.Int("status", status),
				slog.Duration("duration", time.Since(start)),
				slog.String("client_ip", security.ClientAddr(r.Context()).String()),
			)
		}()
		next.ServeHTTP(ww, r)
	})
}
