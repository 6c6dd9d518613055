package security

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/go-chi/chi/v5/middleware"
)

// ClientIP resolves the client's IP address once per request; read it with
// ClientAddr. With no trusted proxies it is the TCP peer. With trusted
// proxies, X-Forwarded-For is read right to left only while the peer (and
// each hop) is inside a trusted prefix; the first untrusted hop is the
// client.
//
// SECURITY(ip-binding): X-Forwarded-For is believed only from
// TRUSTED_PROXIES; chi's deprecated RealIP (which believes any peer) is
// never used — ASVS 5.0 4.1.3.
func ClientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	prefixes := make([]string, len(trusted))
	for i, p := range trusted {
		prefixes[i] = p.String()
	}
	fromXFF := middleware.ClientIPFromXFF(prefixes...)
	return func(next http.Handler) http.Handler {
		return fromXFF(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// chi gives up (an invalid address) when the trusted peer sent
			// no X-Forwarded-For, when every entry is trusted, or on a
			// malformed entry; then resolve it here, never leaving it
			// invalid: a session bound to "invalid" would be destroyed on
			// its next request, and all such clients would share one
			// throttling budget.
			if !middleware.GetClientIPAddr(r.Context()).IsValid() {
				r = r.WithContext(context.WithValue(r.Context(), fallbackKey{}, resolveFallback(r, trusted)))
			}
			next.ServeHTTP(w, r)
		}))
	}
}

type fallbackKey struct{}

// resolveFallback reads X-Forwarded-For right to left, skipping malformed
// entries and trusted proxies: the first other address is the client.
// When there is none (no header, every entry trusted), the left-most valid
// entry is, or else the TCP peer itself.
func resolveFallback(r *http.Request, trusted []netip.Prefix) netip.Addr {
	var entries []netip.Addr
	for _, h := range r.Header.Values("X-Forwarded-For") {
		for _, f := range strings.Split(h, ",") {
			if a, err := netip.ParseAddr(strings.TrimSpace(f)); err == nil {
				entries = append(entries, a.Unmap().WithZone(""))
			}
		}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		if !inAny(entries[i], trusted) {
			return entries[i]
		}
	}
	if len(entries) > 0 {
		return entries[0]
	}
	if ap, err := netip.ParseAddrPort(r.RemoteAddr); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}

func inAny(a netip.Addr, prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// ClientAddr is the client IP resolved by ClientIP; the zero Addr only
// when even the TCP peer's address could not be read.
func ClientAddr(ctx context.Context) netip.Addr {
	if a := middleware.GetClientIPAddr(ctx); a.IsValid() {
		return a
	}
	a, _ := ctx.Value(fallbackKey{}).(netip.Addr)
	return a
}
