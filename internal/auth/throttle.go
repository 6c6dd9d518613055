package auth

import (
	"net/netip"
	"time"

	"github.com/go-chi/httprate"

	"github.com/sessionlab/sessionlab/internal/users"
)

// ThrottleLimits are the budgets of a Throttle, each per Window.
type ThrottleLimits struct {
	AccountFailures int           // failed logins per account (normalised email)
	IPFailures      int           // failed logins per client IP, whatever the account
	IPSignups       int           // sign-up attempts per client IP
	Window          time.Duration // the sliding window all three are counted over
}

// Throttle is the login and sign-up throttling policy. Online guessing is
// limited twice: per account, so one account cannot be brute-forced from
// many addresses, and per client IP, so one address cannot spray a common
// password over many accounts. Credential stuffing from many addresses,
// one try per account, is slowed by neither. Only failures count, but
// while a budget is spent every attempt is refused, the correct password
// included, before any bcrypt work. Sign-ups are limited per IP: each
// costs a bcrypt hash and a row, and "this email is taken" answers would
// otherwise enumerate accounts. The windowed account budget is a
// documented deviation from NIST SP 800-63B-4 §3.2.2 (see config.go).
//
// SECURITY(throttling): per-account and per-IP budgets stop brute force
// and spraying; an unknown email has a budget like a real one, so being
// throttled tells nothing about who has an account — ASVS 5.0 6.1.1,
// 6.3.1, 6.3.8.
type Throttle struct {
	account, ip, signup, reauth *Limit
}

// NewThrottle returns the policy for limits. newCounter returns the counter
// for one named budget ("login-account", "login-ip", "signup-ip"); each name
// must get its own counter, so budgets never share keys. A nil newCounter
// counts in this process's memory.
func NewThrottle(limits ThrottleLimits, newCounter func(name string) httprate.LimitCounter) *Throttle {
	counter := func(name string) httprate.LimitCounter {
		if newCounter == nil {
			return nil
		}
		return newCounter(name)
	}
	return &Throttle{
		account: NewLimit(limits.AccountFailures, limits.Window, counter("login-account")),
		ip:      NewLimit(limits.IPFailures, limits.Window, counter("login-ip")),
		signup:  NewLimit(limits.IPSignups, limits.Window, counter("signup-ip")),
		reauth:  NewLimit(limits.AccountFailures, limits.Window, counter("reauth-session")),
	}
}

// Reservation is budget taken before a password check; Release gives it
// back when the check succeeded (only failures use up a login budget).
type Reservation struct{ releases []func() error }

// Release returns every unit the reservation took.
func (r Reservation) Release() error {
	var first error
	for _, f := range r.releases {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// reserveAll takes one unit from each limit's key, or none: a refusal by
// one gives back what the others took.
func reserveAll(limits []*Limit, keys []string) (Reservation, time.Duration, error) {
	var r Reservation
	for i, l := range limits {
		release, wait, err := l.Reserve(keys[i])
		if err != nil || wait > 0 {
			r.Release()
			return Reservation{}, wait, err
		}
		r.releases = append(r.releases, release)
	}
	return r, 0, nil
}

// ReserveLogin takes one unit from the account's and the client IP's
// budgets before a login's password check. A positive wait means refused
// (nothing taken): answer 429. A failed check keeps the units; a
// successful one releases them.
func (t *Throttle) ReserveLogin(email string, ip netip.Addr) (Reservation, time.Duration, error) {
	return reserveAll([]*Limit{t.account, t.ip}, []string{accountKey(email), ipKey(ip)})
}

// ReserveSignup takes one sign-up attempt from the client IP's budget.
func (t *Throttle) ReserveSignup(ip netip.Addr) (time.Duration, error) {
	_, wait, err := reserveAll([]*Limit{t.signup}, []string{ipKey(ip)})
	return wait, err
}

// ReserveReauth takes one unit of a signed-in session's own budget before
// it checks its password again (to end sessions, change the password or
// delete the account).
//
// SECURITY(throttling): a budget per session, not the account's or the
// IP's, so others' failed logins (a thief's, a neighbour's behind the same
// NAT) cannot lock the owner out of ending a session — ASVS 5.0 6.3.1, 7.5.2.
func (t *Throttle) ReserveReauth(sessionID string) (Reservation, time.Duration, error) {
	return reserveAll([]*Limit{t.reauth}, []string{"session:" + sessionID})
}

// SignupWait reports how long a sign-up from ip must wait (zero: go ahead).
func (t *Throttle) SignupWait(ip netip.Addr) (time.Duration, error) {
	return t.signup.Wait(ipKey(ip))
}

// accountKey is the account a login names, spelled as the users table
// stores it: "Alice@Example.com " and "alice@example.com" share a budget.
func accountKey(email string) string {
	return users.NormalizeEmail(email)
}

// ipKey is the client's budget key. IPv6 clients are counted per /64
// (httprate.CanonicalizeIP): one host usually holds a whole /64 and could
// otherwise rotate addresses for a fresh budget each time. An address that
// could not be resolved shares one budget with every other such request:
// stricter, never looser.
func ipKey(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unresolved"
	}
	return httprate.CanonicalizeIP(ip.Unmap().String())
}
