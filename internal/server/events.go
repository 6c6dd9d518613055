package server

import (
	"log/slog"
	"net/http"

	"github.com/sessionlab/sessionlab/internal/security"
)

// securityEvent writes one structured record for an authentication or
// session event. Callers pass ids only: the user id and the session's
// short id (derived from its store key), never a token, password or hash.
//
// SECURITY(logging): authentication and session events are logged, and
// secrets never are — ASVS 5.0 16.2.5, 16.3.1.
func (a *app) securityEvent(r *http.Request, event string, attrs ...slog.Attr) {
	base := []slog.Attr{
		slog.String("event", event),
		slog.String("client_ip", security.ClientAddr(r.Context()).String()),
	}
	a.log.LogAttrs(r.Context(), slog.LevelInfo, "security", append(base, attrs...)...)
}
