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

// Throttle is the login and sign-up throttling policy.
//
// SECURITY(throttling): online guessing is limited twice. Per account, so
// one account cannot be brute-forced from many addresses; per client IP, so
// one address cannot spray a common password over many accounts (credential
// stuffing). Only failures count — a correct password costs nothing — but
// while a budget is spent every attempt is refused, the correct password
// included, before any bcrypt work. An unknown email has an account budget
// like a real one, so being throttled says nothing about who has an account.
// Sign-ups are limited per IP: each one costs a bcrypt hash and a row, and
// "this email is taken" answers would otherwise enumerate accounts —
// ASVS 5.0 6.3.1, 6.3.8, NIST SP 800-63B rev 4 §3.2.2,
// https://cheatsheetseries.owasp.org/cheatsheets/Authentication_Cheat_Sheet.html#protect-against-automated-attacks
type Throttle struct {
	account, ip, signup *Limit
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
	}
}

// LoginWait reports how long a login for email from ip must wait: zero
// when it may go ahead, else the longer of the two budgets' waits.
func (t *Throttle) LoginWait(email string, ip netip.Addr) (time.Duration, error) {
	byAccount, err := t.account.Wait(accountKey(email))
	if err != nil {
		return 0, err
	}
	byIP, err := t.ip.Wait(ipKey(ip))
	if err != nil {
		return 0, err
	}
	return max(byAccount, byIP), nil
}

// LoginFailed counts a failed login against both budgets.
func (t *Throttle) LoginFailed(email string, ip netip.Addr) error {
	if err := t.account.Add(accountKey(email)); err != nil {
		return err
	}
	return t.ip.Add(ipKey(ip))
}

// SignupWait reports how long a sign-up from ip must wait (zero: go ahead).
func (t *Throttle) SignupWait(ip netip.Addr) (time.Duration, error) {
	return t.signup.Wait(ipKey(ip))
}

// SignupAttempted counts a sign-up attempt from ip.
func (t *Throttle) SignupAttempted(ip netip.Addr) error {
	return t.signup.Add(ipKey(ip))
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
