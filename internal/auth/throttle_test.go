package auth

import (
	"net/netip"
	"testing"
	"time"
)

func TestThrottle_CountsPerAccountAndPerIP(t *testing.T) {
	th := NewThrottle(ThrottleLimits{AccountFailures: 2, IPFailures: 3, IPSignups: 1, Window: time.Hour}, nil)
	ip := netip.MustParseAddr("192.0.2.1")
	other := netip.MustParseAddr("192.0.2.2")

	// The same account in any spelling.
	failLogin(th, "Alice@Example.com", ip)
	failLogin(th, " alice@example.com ", other)
	if wait, _ := loginWait(th, "ALICE@example.com", netip.MustParseAddr("198.51.100.9")); wait == 0 {
		t.Error("account over its budget: allowed from a fresh IP")
	}
	if wait, _ := loginWait(th, "bob@example.com", ip); wait != 0 {
		t.Errorf("another account from an IP under its budget: wait %v, want 0", wait)
	}
	// The IP's third failure, on yet another account, spends its budget.
	failLogin(th, "carol@example.com", ip)
	failLogin(th, "dave@example.com", ip)
	if wait, _ := loginWait(th, "erin@example.com", ip); wait == 0 {
		t.Error("IP over its budget: allowed for a fresh account")
	}
	if wait, _ := loginWait(th, "erin@example.com", other); wait != 0 {
		t.Errorf("fresh account from another IP: wait %v, want 0", wait)
	}

	// Sign-ups have their own budget.
	if wait, _ := th.SignupWait(ip); wait != 0 {
		t.Errorf("first sign-up from an IP over its login budget: wait %v, want 0", wait)
	}
	th.ReserveSignup(ip)
	if wait, _ := th.SignupWait(ip); wait == 0 {
		t.Error("sign-up over budget: allowed")
	}
}

func TestThrottle_IPv6CountsPerSlash64(t *testing.T) {
	th := NewThrottle(ThrottleLimits{AccountFailures: 100, IPFailures: 1, IPSignups: 1, Window: time.Hour}, nil)
	failLogin(th, "a@example.com", netip.MustParseAddr("2001:db8:1:2::1"))
	if wait, _ := loginWait(th, "b@example.com", netip.MustParseAddr("2001:db8:1:2:ffff::9")); wait == 0 {
		t.Error("another address in the same /64 got a fresh budget")
	}
	if wait, _ := loginWait(th, "b@example.com", netip.MustParseAddr("2001:db8:1:3::1")); wait != 0 {
		t.Errorf("another /64: wait %v, want 0", wait)
	}
	// An IPv4 client seen as IPv4-mapped IPv6 is the same client.
	failLogin(th, "a@example.com", netip.MustParseAddr("192.0.2.7"))
	if wait, _ := loginWait(th, "b@example.com", netip.MustParseAddr("::ffff:192.0.2.7")); wait == 0 {
		t.Error("IPv4-mapped spelling got a fresh budget")
	}
}

// failLogin is a failed login: its reservation is kept.
func failLogin(th *Throttle, email string, ip netip.Addr) {
	th.ReserveLogin(email, ip)
}

// loginWait asks whether a login may go ahead now, taking nothing.
func loginWait(th *Throttle, email string, ip netip.Addr) (time.Duration, error) {
	r, wait, err := th.ReserveLogin(email, ip)
	if err == nil && wait == 0 {
		err = r.Release()
	}
	return wait, err
}
