package security

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

// The address used for IP binding, throttling and logs, in every case a
// proxy setup produces: never invalid, never an entry an untrusted client
// could choose past a trusted proxy.
func TestClientIP_ThroughTrustedProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("127.0.0.1/32")}
	tests := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer: the peer, whatever it claims", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "10.0.0.2:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"trusted peer, a forged entry left of the real client", "10.0.0.2:5000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted hops", "10.0.0.2:5000", []string{"198.51.100.1, 10.0.0.7"}, "198.51.100.1"},
		{"trusted peer, no header (a direct client, a health check)", "127.0.0.1:5000", nil, "127.0.0.1"},
		{"every entry trusted: the left-most", "10.0.0.2:5000", []string{"10.0.0.5, 10.0.0.7"}, "10.0.0.5"},
		{"a malformed entry is skipped, not believed", "10.0.0.2:5000", []string{"198.51.100.1, not-an-ip"}, "198.51.100.1"},
		{"only malformed entries: the peer", "10.0.0.2:5000", []string{"bogus, also bogus"}, "10.0.0.2"},
		{"header split over two lines", "10.0.0.2:5000", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped IPv6 entry", "10.0.0.2:5000", []string{"::ffff:198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got netip.Addr
			h := ClientIP(trusted)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = ClientAddr(r.Context()) }))
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			req.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				req.Header.Add("X-Forwarded-For", v)
			}
			h.ServeHTTP(httptest.NewRecorder(), req)
			if got.String() != tt.want {
				t.Errorf("client IP = %v, want %s", got, tt.want)
			}
		})
	}
}
