package server_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/config"
)

// fromAddr returns a copy of c whose connections come from the loopback
// address ip, as a client on another machine would.
func (c *client) fromAddr(ip string) *client {
	tr := c.hc.Transport.(*http.Transport).Clone()
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}
	hc := *c.hc
	hc.Transport = tr
	cp := *c
	cp.hc = &hc
	return &cp
}

// ASVS 5.0 8.2.4: IP binding as documented, and X-Forwarded-For believed
// only from a trusted proxy.
func TestIPBinding_ReplayFromAnotherAddress(t *testing.T) {
	tests := []struct {
		mode       config.IPBinding
		signedIn   bool
		wantsEvent bool
	}{
		{config.IPBindingStrict, false, true},
		{config.IPBindingSubnet, true, false}, // 127.0.0.1 and .2 share a /24
		{config.IPBindingLog, true, true},
		{config.IPBindingOff, true, false},
	}
	eachBackend(t, func(t *testing.T, b backend) {
		for _, tt := range tests {
			t.Run(string(tt.mode), func(t *testing.T) {
				app := newApp(t, b, func(c *config.Config) { c.IPBinding = tt.mode })
				email, pw := newUser()
				owner := app.newClient()
				owner.signup(email, pw)

				thief := app.newClient().fromAddr("127.0.0.2")
				thief.setToken(owner.token())
				r := thief.get("/profile")
				if tt.signedIn {
					if r.status != http.StatusOK {
						t.Errorf("replay from 127.0.0.2: %d, want 200", r.status)
					}
				} else {
					if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
						t.Errorf("replay from 127.0.0.2: %d → %q, want 303 → /login", r.status, r.header.Get("Location"))
					}
					if !strings.Contains(thief.get("/login").body, "different network address") {
						t.Error("the login page does not say why")
					}
					owner.mustBeAnonymous() // the session is destroyed, not just refused
				}
				if got := strings.Contains(app.logs.String(), "event=ip.mismatch"); got != tt.wantsEvent {
					t.Errorf("ip.mismatch logged = %v, want %v", got, tt.wantsEvent)
				}
			})
		}

		t.Run("forged X-Forwarded-For from an untrusted peer", func(t *testing.T) {
			app := newApp(t, b) // strict, no trusted proxies
			email, pw := newUser()
			owner := app.newClient()
			owner.signup(email, pw)
			thief := app.newClient().fromAddr("127.0.0.2")
			thief.setToken(owner.token())
			req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/profile", nil)
			req.Header.Set("X-Forwarded-For", "127.0.0.1")
			if r := thief.do(req); r.status != http.StatusSeeOther {
				t.Errorf("forged XFF: %d, want 303 (the header is ignored)", r.status)
			}
		})

		t.Run("X-Forwarded-For from a trusted proxy", func(t *testing.T) {
			app := newApp(t, b, func(c *config.Config) {
				c.TrustedProxies = mustPrefixes(t, "127.0.0.2/32")
			})
			email, pw := newUser()
			owner := app.newClient()
			owner.signup(email, pw) // from 127.0.0.1, not a proxy: bound to 127.0.0.1
			proxy := app.newClient().fromAddr("127.0.0.2")
			proxy.setToken(owner.token())
			for _, tc := range []struct {
				xff  string
				want int
			}{{"127.0.0.1", http.StatusOK}, {"203.0.113.9", http.StatusSeeOther}} {
				req, _ := http.NewRequest(http.MethodGet, app.ts.URL+"/profile", nil)
				req.Header.Set("X-Forwarded-For", tc.xff)
				if r := proxy.do(req); r.status != tc.want {
					t.Errorf("via the trusted proxy for %s: %d, want %d", tc.xff, r.status, tc.want)
				}
			}
		})
	})
}
