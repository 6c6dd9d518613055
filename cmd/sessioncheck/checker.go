package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"time"
)

// checker is one run against one target. It is used by one goroutine.
type checker struct {
	opts   options
	notes  io.Writer
	ctx    context.Context
	client *http.Client // from the default source address
	alt    *http.Client // from -source-ip (nil without it)
	origin string       // scheme://host of the target, for same-origin POSTs

	requests int
	log      []*exchange
	stop     error // errRun once the deadline passed or the budget is spent
	connErr  error // the first connection error

	cookieName  string
	issued      map[string]*exchange // session token → the response that issued it
	issuedOrder []string
	repeats     []string

	account    *account   // the account most checks sign in to
	throwaways []*account // signed up by this run, deleted at the end

	// State shared between checks.
	logout     *logoutRun
	csrfVictim *browser
	idle       *browser
	idleSince  time.Time

	runNotes []string
}

type account struct {
	email, password string
}

// outcome is what a check found.
type outcome struct {
	status, evidence string
}

func pass(format string, a ...any) outcome { return outcome{statusPass, fmt.Sprintf(format, a...)} }
func fail(format string, a ...any) outcome { return outcome{statusFail, fmt.Sprintf(format, a...)} }
func skip(format string, a ...any) outcome { return outcome{statusSkip, fmt.Sprintf(format, a...)} }

// broken is the outcome of a check that could not finish: skipped when
// the run had to stop (deadline, budget), failed otherwise.
func broken(err error) outcome {
	var stop errRun
	if errors.As(err, &stop) {
		return skip("not finished: %v", err)
	}
	return fail("%v", err)
}

// checkDef is one check.
type checkDef struct {
	id, asvs, title string
	// optIn is the flag that turns the check on ("" for a default check).
	optIn   string
	enabled func(options) bool
	// final checks run after all the others: they read the whole run.
	final bool
	run   func(*checker) outcome
}

// checks lists every check, in the order of the report. The active ones
// run in this order, then the final ones.
var checks = []checkDef{
	{id: "cookie-host-prefix", asvs: "3.3.3", final: true, run: (*checker).checkHostPrefix,
		title: "the session cookie's name has the __Host- prefix"},
	{id: "cookie-secure", asvs: "3.3.1", final: true, run: (*checker).checkSecure,
		title: "every session Set-Cookie has Secure"},
	{id: "cookie-httponly", asvs: "3.3.4", final: true, run: (*checker).checkHTTPOnly,
		title: "every session Set-Cookie has HttpOnly"},
	{id: "cookie-samesite", asvs: "3.3.2", final: true, run: (*checker).checkSameSite,
		title: "every session Set-Cookie has SameSite=Strict"},
	{id: "cookie-path-domain", asvs: "3.3.3", final: true, run: (*checker).checkPathDomain,
		title: "every session Set-Cookie has Path=/ and no Domain"},
	{id: "cookie-not-persistent", asvs: "7.3.1", final: true, run: (*checker).checkNotPersistent,
		title: "without \"keep me signed in\" the session cookie has no Max-Age or Expires"},
	{id: "cookie-remember", asvs: "7.3.2", run: (*checker).checkRemember,
		title: "with \"keep me signed in\": 0 < Max-Age <= the session lifetime"},
	{id: "fixation-planted", asvs: "7.2.4", run: (*checker).checkPlanted,
		title: "a token planted before login is not adopted"},
	{id: "renewal-at-login", asvs: "7.2.4", run: (*checker).checkRenewal,
		title: "login issues a new token; the pre-login token is dead"},
	{id: "logout-destroys", asvs: "7.4.1", run: (*checker).checkLogoutDestroys,
		title: "after logout a copy of the cookie is anonymous"},
	{id: "logout-expires-cookie", asvs: "7.4.1", run: (*checker).checkLogoutExpires,
		title: "logout expires the session cookie"},
	{id: "logout-clear-site-data", asvs: "14.3.1", run: (*checker).checkClearSiteData,
		title: "logout answers with Clear-Site-Data"},
	{id: "logout-get-harmless", asvs: "3.5.3", run: (*checker).checkGetLogout,
		title: "GET /logout changes nothing"},
	{id: "csrf-no-token", asvs: "3.5.1", run: (*checker).checkCSRFNoToken,
		title: "a POST without csrf_token is refused"},
	{id: "csrf-wrong-token", asvs: "3.5.1", run: (*checker).checkCSRFWrongToken,
		title: "a POST with a wrong csrf_token is refused"},
	{id: "csrf-cross-site", asvs: "3.5.1, 3.5.3", run: (*checker).checkCSRFCrossSite,
		title: "a POST marked Sec-Fetch-Site: cross-site is refused, valid token or not"},
	{id: "csrf-foreign-origin", asvs: "3.5.1", run: (*checker).checkCSRFForeignOrigin,
		title: "a POST from a foreign Origin is refused, valid token or not"},
	{id: "no-store", asvs: "14.3.2", run: (*checker).checkNoStore,
		title: "Cache-Control: no-store on signed-in pages and on responses setting the session cookie"},
	{id: "security-headers", asvs: "3.4.4, 3.4.5, 3.4.8", final: true, run: (*checker).checkSecurityHeaders,
		title: "nosniff, a Referrer-Policy and COOP on every response"},
	{id: "csp", asvs: "3.4.3", final: true, run: (*checker).checkCSP,
		title: "a Content-Security-Policy without unsafe-* on every page"},
	{id: "frame-ancestors", asvs: "3.4.6", final: true, run: (*checker).checkFrameAncestors,
		title: "CSP frame-ancestors on every page"},
	{id: "hsts", asvs: "3.4.1", final: true, run: (*checker).checkHSTS,
		title: "Strict-Transport-Security of a year on every https response"},
	{id: "login-no-enumeration", asvs: "6.3.8", run: (*checker).checkEnumeration,
		title: "unknown email and wrong password answer the same (timing reported)"},
	{id: "password-73-bytes", asvs: "6.2.8", run: (*checker).checkLongPassword,
		title: "a 73-byte password is refused, never truncated"},
	{id: "ip-binding", asvs: "8.2.4", optIn: "-source-ip", run: (*checker).checkIPBinding,
		enabled: func(o options) bool { return o.sourceIP.IsValid() },
		title:   "a cookie replayed from another source address is refused"},
	{id: "revoke-session", asvs: "7.5.2", optIn: "-revoke", run: (*checker).checkRevoke,
		enabled: func(o options) bool { return o.revoke },
		title:   "/sessions ends one session, then all others, at once"},
	{id: "password-change", asvs: "7.4.3, 7.2.4", optIn: "-password-change", run: (*checker).checkPasswordChange,
		enabled: func(o options) bool { return o.passwordChange },
		title:   "a password change renews the token and ends the other sessions"},
	{id: "throttle", asvs: "6.3.1", optIn: "-throttle", run: (*checker).checkThrottle,
		enabled: func(o options) bool { return o.throttle },
		title:   "failed logins on one account meet 429 with Retry-After"},
	{id: "idle-timeout", asvs: "7.3.1", optIn: "-idle", run: (*checker).checkIdle,
		enabled: func(o options) bool { return o.idle > 0 },
		title:   "a session left unused for -idle is gone"},
	{id: "token-not-exposed", asvs: "14.2.1, 3.3.4", final: true, run: (*checker).checkNotExposed,
		title: "no session token in any body, Location or other header"},
	{id: "token-entropy", asvs: "7.2.3", final: true, run: (*checker).checkEntropy,
		title: "tokens are distinct and decode to at least 128 bits"},
}

// check runs every check against o.target. Progress notes go to notes.
// An error means the run could not start (the target cannot be reached,
// or no account could be signed in).
func check(ctx context.Context, o options, notes io.Writer) (*report, error) {
	ctx, cancel := context.WithTimeout(ctx, o.deadline+o.idle)
	defer cancel()
	c := &checker{
		opts: o, notes: notes, ctx: ctx,
		client: newClient(o, netip.Addr{}),
		origin: o.target.Scheme + "://" + o.target.Host,
		issued: map[string]*exchange{},
	}
	defer c.client.CloseIdleConnections()
	if o.sourceIP.IsValid() {
		c.alt = newClient(o, o.sourceIP)
		defer c.alt.CloseIdleConnections()
	}
	start := time.Now()
	if err := c.setup(); err != nil {
		return nil, err
	}

	outcomes := make(map[string]outcome, len(checks))
	runOne := func(d checkDef) {
		if d.enabled != nil && !d.enabled(o) {
			outcomes[d.id] = skip("opt-in: not requested (%s)", d.optIn)
			return
		}
		if c.stop != nil {
			outcomes[d.id] = skip("not run: %v", c.stop)
			return
		}
		outcomes[d.id] = d.run(c)
	}
	for _, d := range checks {
		if !d.final {
			runOne(d)
		}
	}
	c.cleanup()
	for _, d := range checks {
		if d.final {
			runOne(d)
		}
	}

	rep := &report{
		Target: o.target.String(), Account: "throwaway", Cookie: c.cookieName,
		Requests: c.requests, DurationMS: time.Since(start).Milliseconds(), Notes: c.runNotes,
	}
	if o.email != "" {
		rep.Account = "given"
	}
	for _, d := range checks {
		oc := outcomes[d.id]
		rep.Results = append(rep.Results, result{Check: d.id, ASVS: d.asvs, Title: d.title, OptIn: d.optIn,
			Status: oc.status, Evidence: oc.evidence})
		switch oc.status {
		case statusPass:
			rep.Passed++
		case statusFail:
			rep.Failed++
		default:
			rep.Skipped++
		}
	}
	switch {
	case c.stop != nil:
		rep.Incomplete = c.stop.Error()
	case c.connErr != nil:
		rep.Incomplete = "connection error: " + c.connErr.Error()
	}
	return rep, nil
}

// note records a remark for the report (never a secret).
func (c *checker) note(format string, a ...any) {
	c.runNotes = append(c.runNotes, fmt.Sprintf(format, a...))
}

// setup reaches the target, signs in the account most checks use and
// learns the session cookie's name.
func (c *checker) setup() error {
	probe := c.newBrowser("probe")
	if _, err := probe.get("/healthz"); err != nil {
		return fmt.Errorf("cannot reach %s: %w", c.opts.target, err)
	}
	if c.alt != nil {
		altProbe := c.newBrowser("probe-alt")
		altProbe.alt = true
		if _, err := altProbe.get("/healthz"); err != nil {
			return fmt.Errorf("-source-ip %s: cannot reach %s from it: %w", c.opts.sourceIP, c.opts.target, err)
		}
	}
	// An error page, so the header checks see one.
	if _, err := probe.get("/sessioncheck-no-such-page"); err != nil {
		return err
	}

	main := c.newBrowser("main")
	if c.opts.email != "" {
		c.account = &account{email: c.opts.email, password: c.opts.password}
		f, page, err := c.loginPage(main)
		if err != nil {
			return err
		}
		ex, err := c.submitLogin(main, f, c.account.email, c.account.password, nil)
		if err != nil {
			return err
		}
		if err := c.learnCookie(ex, page); err != nil {
			return fmt.Errorf("login with the given account: %s: %w", ex.describe(), err)
		}
	} else {
		acct := newAccount("")
		page, err := main.get("/signup")
		if err != nil {
			return err
		}
		ex, err := c.submitSignup(main, page, acct)
		if err != nil {
			return err
		}
		if err := c.learnCookie(ex, page); err != nil {
			return fmt.Errorf("sign-up of a throwaway account: %s: %w (give an existing account with SESSIONCHECK_EMAIL and SESSIONCHECK_PASSWORD)", ex.describe(), err)
		}
		c.account = acct
		c.throwaways = append(c.throwaways, acct)
	}
	if ok, ex, err := c.signedIn(main); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("signed in, but %s", ex.describe())
	}

	if c.opts.idle > 0 {
		// Signed in now, used once, then left alone until idle-timeout runs.
		b, _, err := c.freshSession("idle")
		if err != nil {
			return fmt.Errorf("-idle: %w", err)
		}
		if ok, ex, err := c.signedIn(b); err != nil {
			return err
		} else if !ok {
			return fmt.Errorf("-idle: a fresh session is not signed in: %s", ex.describe())
		}
		c.idle, c.idleSince = b, time.Now()
	}
	return nil
}

// wellKnownCookies are tried in order when -cookie is not given.
var wellKnownCookies = []string{"__Host-session", "__Secure-session", "session", "__Host-sessionid", "sessionid", "__Host-id", "id"}

// learnCookie finds the session cookie in a successful sign-up or login
// response: -cookie, else a well-known name, else the only cookie it set
// that the anonymous form page (page) did not.
func (c *checker) learnCookie(ex, page *exchange) error {
	if !ex.redirect() {
		return errors.New("not a redirect: the account was not signed in")
	}
	set := map[string]*setCookie{}
	var names []string
	for i, sc := range ex.cookies {
		if !cookieDeleted(sc.cookie) {
			if _, dup := set[sc.cookie.Name]; !dup {
				names = append(names, sc.cookie.Name)
			}
			set[sc.cookie.Name] = &ex.cookies[i]
		}
	}
	name := c.opts.cookieName
	if name == "" {
		for _, n := range wellKnownCookies {
			if set[n] != nil {
				name = n
				break
			}
		}
	}
	if name == "" {
		anon := map[string]bool{}
		for _, sc := range page.cookies {
			anon[sc.cookie.Name] = true
		}
		var fresh []string
		for _, n := range names {
			if !anon[n] {
				fresh = append(fresh, n)
			}
		}
		if len(fresh) != 1 {
			return fmt.Errorf("cannot tell the session cookie among %q: give -cookie", names)
		}
		name = fresh[0]
	}
	sc := set[name]
	if sc == nil {
		return fmt.Errorf("no %s cookie was set (cookies set: %q)", name, names)
	}
	c.cookieName = name
	c.noteSessionCookie(ex, sc.cookie)
	return nil
}

// newAccount is a throwaway account: a random address under example.com
// and a random password of exactly 72 bytes, bcrypt's limit, so that the
// 73-byte check can tell truncation from refusal.
func newAccount(kind string) *account {
	if kind != "" {
		kind += "-"
	}
	return &account{email: "sessioncheck-" + kind + randomHex(6) + "@example.com", password: randomText(72)}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// randomText is n random characters of [A-Za-z0-9].
func randomText(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

const b64url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// randomToken is n random base64url characters: the shape of a token.
func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = b64url[int(b[i])%len(b64url)]
	}
	return string(b)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// loginPage fetches /login and returns its form.
func (c *checker) loginPage(b *browser) (*form, *exchange, error) {
	page, err := b.get("/login")
	if err != nil {
		return nil, nil, err
	}
	f, ok := c.formFor(page, "/login")
	if !ok {
		return nil, page, fmt.Errorf("%s: no form posting to /login", page.describe())
	}
	return f, page, nil
}

// submitLogin posts the login form f (its hidden fields, such as
// csrf_token and next) with the credentials and extra fields.
func (c *checker) submitLogin(b *browser, f *form, email, password string, extra url.Values) (*exchange, error) {
	v := f.hidden()
	v.Set("email", email)
	v.Set("password", password)
	for k, vs := range extra {
		v[k] = vs
	}
	return b.post("/login", v)
}

// submitSignup posts the sign-up form of page.
func (c *checker) submitSignup(b *browser, page *exchange, a *account) (*exchange, error) {
	f, ok := c.formFor(page, "/signup")
	if !ok {
		return nil, fmt.Errorf("%s: no form posting to /signup", page.describe())
	}
	v := f.hidden()
	v.Set("email", a.email)
	v.Set("password", a.password)
	return b.post("/signup", v)
}

// signup signs a up in b.
func (c *checker) signup(b *browser, a *account) (*exchange, error) {
	page, err := b.get("/signup")
	if err != nil {
		return nil, err
	}
	return c.submitSignup(b, page, a)
}

// login logs b in as a; ok reports whether it worked (a redirect that
// left a session cookie).
func (c *checker) login(b *browser, a *account, extra url.Values) (ex *exchange, ok bool, err error) {
	f, _, err := c.loginPage(b)
	if err != nil {
		return nil, false, err
	}
	ex, err = c.submitLogin(b, f, a.email, a.password, extra)
	if err != nil {
		return nil, false, err
	}
	return ex, ex.redirect() && b.token() != "", nil
}

// freshSession is a new browser signed in to the run's account.
func (c *checker) freshSession(name string) (*browser, *exchange, error) {
	b := c.newBrowser(name)
	ex, ok, err := c.login(b, c.account, nil)
	if err != nil {
		return nil, nil, err
	}
	if !ok {
		return nil, ex, fmt.Errorf("login refused: %s", ex.describe())
	}
	return b, ex, nil
}

// signedIn asks /profile whether b is signed in: 200 (and no login form)
// is signed in, a redirect, 401 or 403 is not.
func (c *checker) signedIn(b *browser) (bool, *exchange, error) {
	ex, err := b.get("/profile")
	if err != nil {
		return false, nil, err
	}
	switch {
	case ex.status == http.StatusOK:
		_, loginForm := c.formFor(ex, "/login")
		return !loginForm, ex, nil
	case ex.redirect(), ex.status == http.StatusUnauthorized, ex.status == http.StatusForbidden:
		return false, ex, nil
	}
	return false, ex, fmt.Errorf("cannot tell whether signed in: %s", ex.describe())
}

// replay is whether a fresh browser holding only token is signed in.
func (c *checker) replay(name, token string) (bool, *exchange, error) {
	return c.signedIn(c.withSession(name, token))
}

// cleanup deletes the throwaway accounts (POST /account/delete), unless
// -keep-account.
func (c *checker) cleanup() {
	if c.opts.keepAccount {
		if n := len(c.throwaways); n > 0 {
			c.note("kept %d throwaway account(s) (-keep-account)", n)
		}
		return
	}
	deleted := 0
	for _, a := range c.throwaways {
		if err := c.deleteAccount(a); err != nil {
			c.note("could not delete throwaway account %s: %v", a.email, err)
			continue
		}
		deleted++
	}
	if deleted > 0 {
		c.note("deleted %d throwaway account(s) at the end", deleted)
	}
}

func (c *checker) deleteAccount(a *account) error {
	b := c.newBrowser("cleanup")
	ex, ok, err := c.login(b, a, nil)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("login: %s", ex.describe())
	}
	page, err := b.get("/account/password")
	if err != nil {
		return err
	}
	f, ok := c.formFor(page, "/account/delete")
	if !ok {
		return fmt.Errorf("%s: no form posting to /account/delete", page.describe())
	}
	v := f.hidden()
	v.Set("password", a.password)
	ex, err = b.post("/account/delete", v)
	if err != nil {
		return err
	}
	if !ex.redirect() {
		return errors.New(ex.describe())
	}
	return nil
}
