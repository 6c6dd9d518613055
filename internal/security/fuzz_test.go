package security

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzClientIP: whatever X-Forwarded-For a client sends, the address the
// app uses is valid, and from an untrusted peer it is the peer itself; from
// a trusted one it is the peer or an entry of the header (ASVS 4.1.3).
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "198.51.100.1", "1.2.3.4, 198.51.100.1", "10.0.0.5, 10.0.0.7", "bogus", "::ffff:198.51.100.1", ",,,", "2001:db8::1, 10.0.0.1"} {
		f.Add(s, true)
		f.Add(s, false)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string, fromProxy bool) {
		peer := "203.0.113.9"
		if fromProxy {
			peer = "10.0.0.2"
		}
		var got netip.Addr
		h := ClientIP(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r.Context()) }))
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = peer + ":5000"
		req.Header.Set("X-Forwarded-For", xff)
		h.ServeHTTP(httptest.NewRecorder(), req)
		if !got.IsValid() {
			t.Fatalf("XFF %q from %s: invalid client IP", xff, peer)
		}
		if !fromProxy && got.String() != peer {
			t.Fatalf("XFF %q from the untrusted %s was believed: %v", xff, peer, got)
		}
		if fromProxy && got.String() != peer && !inHeader(xff, got) {
			t.Fatalf("XFF %q from %s gave %v, in neither", xff, peer, got)
		}
	})
}

// inHeader reports whether a is one of the header's entries, compared as
// addresses (spellings differ: "::aaaa:0001" is ::aaaa:1).
func inHeader(xff string, a netip.Addr) bool {
	for _, f := range strings.Split(xff, ",") {
		if e, err := netip.ParseAddr(strings.TrimSpace(f)); err == nil && e.Unmap().WithZone("") == a.Unmap().WithZone("") {
			return true
		}
	}
	return false
}
