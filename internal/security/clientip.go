package security

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/go-chi/chi/v5/middleware"
)

// ClientIP resolves the client's IP address once per request; read it with
// ClientAddr. With no trusted proxies it is the TCP peer. With trusted
// proxies, X-Forwarded-For is read right to left only while the peer (and
// each hop) is inside a trusted prefix; the first untrusted hop is the
// client.
//
// SECURITY(client-ip): X-Forwarded-For is attacker-controlled unless a proxy
// we trust wrote it, so it is believed only from TRUSTED_PROXIES; chi's
// deprecated RealIP (which believes any peer) is never used — ASVS 5.0
// 4.1.3, https://cheatsheetseries.owasp.org/cheatsheets/Denial_of_Service_Cheat_Sheet.html
func ClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	prefixes := make([]string, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.String()
	}
	return middleware.ClientIPFromXFF(prefixes...)
}

// ClientAddr is the client IP resolved by ClientIP; the zero Addr when it
// could not be determined (an unparsable chain fails closed).
func ClientAddr(ctx context.Context) netip.Addr {
	return middleware.GetClientIPAddr(ctx)
}
