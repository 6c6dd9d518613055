package session

import (
	"net/netip"

	"github.com/sessionlab/sessionlab/internal/config"
)

// IPVerdict is what to do with a request under an IP binding policy.
type IPVerdict int

const (
	IPAllowed  IPVerdict = iota // same client, or binding off
	IPChanged                   // different, but the policy only logs it
	IPRejected                  // different: end the session
)

// CheckIP compares the client IP of a request with the IP the session is
// bound to.
//
// IP binding is a secondary control: addresses change legitimately and
// attackers can share one, so the policy is a documented choice, not a
// guarantee.
//
// SECURITY(ip-binding): a stolen cookie replayed from another network is
// refused (strict, subnet) or at least recorded (log) — ASVS 5.0 8.2.4.
func CheckIP(policy config.IPBinding, bound, current netip.Addr) IPVerdict {
	if policy == config.IPBindingOff {
		return IPAllowed
	}
	bound, current = bound.Unmap(), current.Unmap()
	if bound == current && bound.IsValid() {
		return IPAllowed
	}
	switch policy {
	case config.IPBindingLog:
		return IPChanged
	case config.IPBindingSubnet:
		if sameSubnet(bound, current) {
			return IPAllowed
		}
	}
	return IPRejected
}

func sameSubnet(a, b netip.Addr) bool {
	if !a.IsValid() || !b.IsValid() || a.Is4() != b.Is4() {
		return false
	}
	bits := 64
	if a.Is4() {
		bits = 24
	}
	pa, _ := a.Prefix(bits)
	pb, _ := b.Prefix(bits)
	return pa == pb
}
