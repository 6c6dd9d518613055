package session

import (
	"net/netip"
	"testing"

	"github.com/sessionlab/sessionlab/internal/config"
)

func TestCheckIP_PolicyTable(t *testing.T) {
	a := netip.MustParseAddr
	tests := []struct {
		policy         config.IPBinding
		bound, current string
		want           IPVerdict
	}{
		{config.IPBindingStrict, "192.0.2.10", "192.0.2.10", IPAllowed},
		{config.IPBindingStrict, "192.0.2.10", "192.0.2.11", IPRejected},
		{config.IPBindingStrict, "192.0.2.10", "::ffff:192.0.2.10", IPAllowed}, // same address, mapped form
		{config.IPBindingSubnet, "192.0.2.10", "192.0.2.250", IPAllowed},
		{config.IPBindingSubnet, "192.0.2.10", "192.0.3.10", IPRejected},
		{config.IPBindingSubnet, "2001:db8:1:2::1", "2001:db8:1:2:ffff::9", IPAllowed},
		{config.IPBindingSubnet, "2001:db8:1:2::1", "2001:db8:1:3::1", IPRejected},
		{config.IPBindingSubnet, "192.0.2.10", "2001:db8::1", IPRejected},
		{config.IPBindingLog, "192.0.2.10", "198.51.100.1", IPChanged},
		{config.IPBindingLog, "192.0.2.10", "192.0.2.10", IPAllowed},
		{config.IPBindingOff, "192.0.2.10", "198.51.100.1", IPAllowed},
	}
	for _, tt := range tests {
		if got := CheckIP(tt.policy, a(tt.bound), a(tt.current)); got != tt.want {
			t.Errorf("CheckIP(%s, %s, %s) = %d, want %d", tt.policy, tt.bound, tt.current, got, tt.want)
		}
	}
	// An unknown address (e.g. an unparsable X-Forwarded-For chain) never
	// matches, not even another unknown one.
	if got := CheckIP(config.IPBindingStrict, netip.Addr{}, netip.Addr{}); got != IPRejected {
		t.Errorf("CheckIP(strict, unknown, unknown) = %d, want IPRejected", got)
	}
}

func TestDeviceSummary_KnownWordsOnly(t *testing.T) {
	tests := map[string]string{
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                "Firefox on Linux",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0": "Edge on Windows",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile Safari/604.1":          "Safari on iOS",
		"Go-http-client/1.1":        "Go client",
		"":                          "Unknown device",
		"<script>alert(1)</script>": "Unknown device",
	}
	for ua, want := range tests {
		if got := DeviceSummary(ua); got != want {
			t.Errorf("DeviceSummary(%q) = %q, want %q", ua, got, want)
		}
	}
}

func TestShortID_IsAPrefixOfTheStoreKeyNotTheToken(t *testing.T) {
	token := "a-token-value-that-must-never-be-shown"
	id := ShortID(token)
	if len(id) != 10 || id != StoreKey(token)[:10] {
		t.Errorf("ShortID = %q, want the first 10 characters of %q", id, StoreKey(token))
	}
	if StoreKey(token) == token {
		t.Error("StoreKey returned the token")
	}
}
