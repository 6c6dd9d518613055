package main

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- session cookie attributes (read from every Set-Cookie of the run)

// sessionSet is one Set-Cookie of the session cookie that gives it a value.
type sessionSet struct {
	ex *exchange
	ck *http.Cookie
}

func (c *checker) sessionSets() []sessionSet {
	var out []sessionSet
	for _, ex := range c.log {
		for _, sc := range ex.cookies {
			if sc.cookie.Name == c.cookieName && !cookieDeleted(sc.cookie) {
				out = append(out, sessionSet{ex, sc.cookie})
			}
		}
	}
	return out
}

// everySessionSet checks ok on every session Set-Cookie.
func (c *checker) everySessionSet(what string, ok func(*http.Cookie) bool, got func(*http.Cookie) string) outcome {
	sets := c.sessionSets()
	if len(sets) == 0 {
		return fail("no Set-Cookie of %s with a value was seen", c.cookieName)
	}
	var bad []sessionSet
	for _, s := range sets {
		if !ok(s.ck) {
			bad = append(bad, s)
		}
	}
	if len(bad) > 0 {
		return fail("%d of %d Set-Cookie headers of %s fall short of %s; the first, on %s, has %s",
			len(bad), len(sets), c.cookieName, what, bad[0].ex, got(bad[0].ck))
	}
	return pass("%s on all %d Set-Cookie headers of %s", what, len(sets), c.cookieName)
}

func (c *checker) checkHostPrefix() outcome {
	name := c.cookieName
	n := len(c.sessionSets())
	switch {
	case strings.HasPrefix(name, "__Host-"):
		return pass("session cookie %s (%d Set-Cookie headers)", name, n)
	case strings.HasPrefix(name, "__Secure-"):
		return fail("session cookie %s has the __Secure- prefix only: __Host- also pins Path=/ and forbids Domain", name)
	}
	return fail("session cookie %s has no __Host- prefix: a sibling subdomain or a plain-HTTP page could set or overwrite it", name)
}

func (c *checker) checkSecure() outcome {
	return c.everySessionSet("Secure", func(ck *http.Cookie) bool { return ck.Secure },
		func(*http.Cookie) string { return "no Secure" })
}

func (c *checker) checkHTTPOnly() outcome {
	return c.everySessionSet("HttpOnly", func(ck *http.Cookie) bool { return ck.HttpOnly },
		func(*http.Cookie) string { return "no HttpOnly" })
}

func (c *checker) checkSameSite() outcome {
	return c.everySessionSet("SameSite=Strict", func(ck *http.Cookie) bool { return ck.SameSite == http.SameSiteStrictMode },
		func(ck *http.Cookie) string { return sameSiteName(ck.SameSite) })
}

func sameSiteName(s http.SameSite) string {
	switch s {
	case http.SameSiteStrictMode:
		return "SameSite=Strict"
	case http.SameSiteLaxMode:
		return "SameSite=Lax"
	case http.SameSiteNoneMode:
		return "SameSite=None"
	case http.SameSiteDefaultMode:
		return "SameSite without a value"
	}
	return "no SameSite"
}

func (c *checker) checkPathDomain() outcome {
	return c.everySessionSet("Path=/ and no Domain", func(ck *http.Cookie) bool { return ck.Path == "/" && ck.Domain == "" },
		func(ck *http.Cookie) string {
			var parts []string
			if ck.Path != "/" {
				parts = append(parts, fmt.Sprintf("Path=%q", ck.Path))
			}
			if ck.Domain != "" {
				parts = append(parts, "Domain="+ck.Domain)
			}
			return strings.Join(parts, ", ")
		})
}

// lifetimeAttrs describes a Set-Cookie's Max-Age and Expires.
func lifetimeAttrs(ck *http.Cookie) string {
	var parts []string
	if ck.MaxAge != 0 {
		parts = append(parts, fmt.Sprintf("Max-Age=%d", max(ck.MaxAge, 0)))
	}
	if ck.RawExpires != "" {
		parts = append(parts, "Expires")
	}
	if len(parts) == 0 {
		return "no Max-Age or Expires"
	}
	return strings.Join(parts, ", ")
}

func (c *checker) checkNotPersistent() outcome {
	n := 0
	for _, s := range c.sessionSets() {
		if s.ex.remember {
			continue
		}
		n++
		if s.ck.MaxAge != 0 || s.ck.RawExpires != "" {
			return fail("%s on %s without \"keep me signed in\": the cookie outlives the browser session", lifetimeAttrs(s.ck), s.ex)
		}
	}
	if n == 0 {
		return fail("no Set-Cookie of %s from a login without \"keep me signed in\" was seen", c.cookieName)
	}
	return pass("no Max-Age or Expires on the %d Set-Cookie headers of sessions without \"keep me signed in\"", n)
}

// cookieAge is how long the browser keeps ck (0: a browser-session cookie).
func cookieAge(ck *http.Cookie) time.Duration {
	switch {
	case ck.MaxAge > 0:
		return time.Duration(ck.MaxAge) * time.Second
	case ck.MaxAge == 0 && !ck.Expires.IsZero():
		return time.Until(ck.Expires)
	}
	return 0
}

func (c *checker) checkRemember() outcome {
	b := c.newBrowser("remember")
	f, _, err := c.loginPage(b)
	if err != nil {
		return broken(err)
	}
	if !f.has("remember") {
		return skip("the login form has no remember field (\"keep me signed in\")")
	}
	value := f.get("remember")
	if value == "" {
		value = "on" // a checkbox without a value sends "on"
	}
	b.remember = true
	ex, err := c.submitLogin(b, f, c.account.email, c.account.password, url.Values{"remember": {value}})
	if err != nil {
		return broken(err)
	}
	if !ex.redirect() || b.token() == "" {
		return fail("login with remember=%s refused: %s", value, ex.describe())
	}
	ck := ex.sessionSet()
	if ck == nil {
		return fail("the login with \"keep me signed in\" set no %s cookie", c.cookieName)
	}
	age := cookieAge(ck)
	const slack = 2 * time.Second
	switch {
	case age <= 0:
		return fail("\"keep me signed in\" gave %s (%s): not kept past the browser session", c.cookieName, lifetimeAttrs(ck))
	case age > c.opts.lifetime+slack:
		return fail("\"keep me signed in\" gave %s %s = %s, longer than the session lifetime %s (-lifetime)", c.cookieName, lifetimeAttrs(ck), age.Round(time.Second), c.opts.lifetime)
	}
	ok, pex, err := c.signedIn(b)
	if err != nil {
		return broken(err)
	}
	if !ok {
		return fail("the remembered session is not signed in: %s", pex.describe())
	}
	extra := ""
	if dt, found := findElementAttr(pex.body, "deadline", "datetime"); found {
		if deadline, err := time.Parse(time.RFC3339Nano, dt); err == nil {
			if time.Now().Add(age).After(deadline.Add(slack)) {
				return fail("Max-Age %s outlives the session's absolute deadline shown on /profile (%s from now)", age.Round(time.Second), time.Until(deadline).Round(time.Second))
			}
			extra = "; within the deadline /profile shows"
		}
	}
	// Refreshes of the remembered cookie keep within the bound too.
	for _, s := range c.sessionSets() {
		if s.ex.browser == b && s.ex.seq > ex.seq {
			if a := cookieAge(s.ck); a <= 0 || a > c.opts.lifetime+slack {
				return fail("a refresh of the remembered cookie on %s has %s", s.ex, lifetimeAttrs(s.ck))
			}
		}
	}
	return pass("remember=%s: %s (%s) <= lifetime %s%s", value, lifetimeAttrs(ck), age.Round(time.Second), c.opts.lifetime, extra)
}

// ---- fixation and renewal

func (c *checker) checkPlanted() outcome {
	b := c.newBrowser("fixation")
	f, _, err := c.loginPage(b)
	if err != nil {
		return broken(err)
	}
	n := 43
	if len(c.issuedOrder) > 0 {
		n = len(c.issuedOrder[0])
	}
	planted := randomToken(n)
	b.jar[c.cookieName] = planted
	ex, err := c.submitLogin(b, f, c.account.email, c.account.password, nil)
	if err != nil {
		return broken(err)
	}
	if !ex.redirect() {
		return fail("login carrying a planted %s was refused: %s", c.cookieName, ex.describe())
	}
	after := b.token()
	switch {
	case after == planted:
		return fail("the planted token (%d chars, %s) is still the session cookie after login: adopted", n, fingerprint(planted))
	case after == "":
		return fail("no session cookie after login: %s", ex.describe())
	}
	ok, pex, err := c.signedIn(b)
	if err != nil {
		return broken(err)
	}
	if !ok {
		return fail("the login did not sign in: %s", pex.describe())
	}
	in, rex, err := c.replay("fixation-replay", planted)
	if err != nil {
		return broken(err)
	}
	if in {
		return fail("the planted token is signed in after the login (%s)", rex.describe())
	}
	return pass("planted a %d-char token before login; login issued another (%s); the planted one is anonymous (%s)",
		n, fingerprint(after), rex.describe())
}

func (c *checker) checkRenewal() outcome {
	b := c.newBrowser("renewal")
	if _, err := b.get("/"); err != nil {
		return broken(err)
	}
	f, _, err := c.loginPage(b)
	if err != nil {
		return broken(err)
	}
	pre := b.token()
	ex, err := c.submitLogin(b, f, c.account.email, c.account.password, nil)
	if err != nil {
		return broken(err)
	}
	if !ex.redirect() || b.token() == "" {
		return fail("login refused: %s", ex.describe())
	}
	post := b.token()
	if ck := ex.sessionSet(); ck == nil || cookieDeleted(ck) {
		if pre != "" {
			return fail("the login response set no %s: the pre-login token (%s) was kept", c.cookieName, fingerprint(pre))
		}
		return fail("the login response set no %s", c.cookieName)
	}
	if pre != "" && post == pre {
		return fail("login re-set the pre-login token (%s) instead of a new one", fingerprint(pre))
	}
	if by := c.issued[post]; by != ex {
		return fail("the token after login (%s) was issued before it, on %s", fingerprint(post), by)
	}
	ok, pex, err := c.signedIn(b)
	if err != nil {
		return broken(err)
	}
	if !ok {
		return fail("the login did not sign in: %s", pex.describe())
	}
	if pre == "" {
		return pass("no session token before login (none issued to anonymous visitors); login issued a new one (%s)", fingerprint(post))
	}
	in, rex, err := c.replay("renewal-replay", pre)
	if err != nil {
		return broken(err)
	}
	if in {
		return fail("the pre-login token (%s) is signed in after login (%s)", fingerprint(pre), rex.describe())
	}
	return pass("pre-login token %s replaced at login by %s; the old one is anonymous (%s)", fingerprint(pre), fingerprint(post), rex.describe())
}

// ---- logout

// logoutRun is one logout, shared by the three logout checks.
type logoutRun struct {
	err      error
	copy     string    // the cookie, copied before logout
	ex       *exchange // POST /logout
	replayIn bool
	replay   *exchange
}

func (c *checker) doLogout() *logoutRun {
	if c.logout != nil {
		return c.logout
	}
	lo := &logoutRun{}
	c.logout = lo
	b, _, err := c.freshSession("logout")
	if err != nil {
		lo.err = err
		return lo
	}
	ok, pex, err := c.signedIn(b)
	if err != nil || !ok {
		lo.err = fmt.Errorf("not signed in before logout (%v)", orStatus(err, pex))
		return lo
	}
	f, found := c.formFor(pex, "/logout")
	if !found {
		lo.err = fmt.Errorf("%s: no form posting to /logout", pex.describe())
		return lo
	}
	lo.copy = b.token()
	if lo.ex, lo.err = b.post("/logout", f.hidden()); lo.err != nil {
		return lo
	}
	lo.replayIn, lo.replay, lo.err = c.replay("logout-replay", lo.copy)
	return lo
}

func orStatus(err error, ex *exchange) string {
	if err != nil {
		return err.Error()
	}
	return ex.describe()
}

func (c *checker) checkLogoutDestroys() outcome {
	lo := c.doLogout()
	switch {
	case lo.err != nil:
		return broken(lo.err)
	case lo.ex.status >= 400:
		return fail("logout refused: %s", lo.ex.describe())
	case lo.replayIn:
		return fail("a copy of the cookie taken before logout is still signed in (%s): the session lives on in the store", lo.replay.describe())
	}
	return pass("%s; a copy of the cookie taken before (%s) is anonymous: %s", lo.ex.describe(), fingerprint(lo.copy), lo.replay.describe())
}

func (c *checker) checkLogoutExpires() outcome {
	lo := c.doLogout()
	if lo.err != nil {
		return broken(lo.err)
	}
	ck := lo.ex.sessionSet()
	switch {
	case ck == nil:
		return fail("%s set no %s: the browser keeps the cookie", lo.ex.describe(), c.cookieName)
	case !cookieDeleted(ck):
		return fail("%s re-set %s (%s) instead of expiring it", lo.ex.describe(), c.cookieName, lifetimeAttrs(ck))
	}
	how := "Max-Age=0"
	if ck.MaxAge >= 0 {
		how = "an Expires in the past"
	}
	if ck.Value == "" {
		how += ", empty value"
	}
	return pass("%s expires %s (%s)", lo.ex, c.cookieName, how)
}

func (c *checker) checkClearSiteData() outcome {
	lo := c.doLogout()
	if lo.err != nil {
		return broken(lo.err)
	}
	v := lo.ex.header.Get("Clear-Site-Data")
	if v == "" {
		return fail("%s has no Clear-Site-Data", lo.ex.describe())
	}
	kinds := map[string]bool{}
	for _, k := range strings.Split(v, ",") {
		kinds[strings.Trim(strings.TrimSpace(k), `"`)] = true
	}
	if !kinds["*"] && !(kinds["cookies"] && kinds["storage"]) {
		return fail("Clear-Site-Data: %s lacks \"cookies\" and \"storage\" (or \"*\")", v)
	}
	return pass("Clear-Site-Data: %s", v)
}

func (c *checker) checkGetLogout() outcome {
	b, _, err := c.freshSession("get-logout")
	if err != nil {
		return broken(err)
	}
	tok := b.token()
	ex, err := b.get("/logout")
	if err != nil {
		return broken(err)
	}
	if ck := ex.sessionSet(); ck != nil && cookieDeleted(ck) {
		return fail("%s expired the session cookie", ex.describe())
	}
	in, rex, err := c.replay("get-logout-replay", tok)
	if err != nil {
		return broken(err)
	}
	if !in {
		return fail("after %s the session is gone (%s)", ex.describe(), rex.describe())
	}
	return pass("%s; the session is still signed in and its cookie untouched", ex.describe())
}

// ---- CSRF

type csrfToken int

const (
	tokenNone csrfToken = iota
	tokenWrong
	tokenValid
)

// victim is a signed-in browser the forged requests are aimed at; a
// probe that ended it makes the next probe sign in again.
func (c *checker) victim() (*browser, error) {
	if c.csrfVictim != nil {
		return c.csrfVictim, nil
	}
	b, _, err := c.freshSession("csrf-victim")
	if err != nil {
		return nil, err
	}
	c.csrfVictim = b
	return b, nil
}

// forge sends a forged POST /logout at the victim and a forged login
// (with the account's right password) from a fresh browser, each with the
// token and headers given, and checks that neither took effect.
func (c *checker) forge(tok csrfToken, hdr map[string]string, how string) outcome {
	v, err := c.victim()
	if err != nil {
		return broken(err)
	}
	page, err := v.get("/profile")
	if err != nil {
		return broken(err)
	}
	valid, ok := c.csrfToken(page)
	if !ok {
		return fail("%s: no form with a csrf_token", page.describe())
	}
	form := url.Values{}
	switch tok {
	case tokenWrong:
		form.Set("csrf_token", randomToken(max(len(valid), 43)))
	case tokenValid:
		form.Set("csrf_token", valid)
	}
	forged := v.clone("csrf-forged")
	lex, err := forged.do(http.MethodPost, "/logout", form, hdr)
	if err != nil {
		return broken(err)
	}
	in, rex, err := c.replay("csrf-check", v.token())
	if err != nil {
		return broken(err)
	}
	if !in {
		c.csrfVictim = nil
		return fail("a POST /logout %s was obeyed (%s; the session is gone: %s)", how, lex.describe(), rex.describe())
	}

	a := c.newBrowser("csrf-login")
	f, _, err := c.loginPage(a)
	if err != nil {
		return broken(err)
	}
	lf := f.hidden()
	lf.Del("csrf_token")
	lf.Set("email", c.account.email)
	lf.Set("password", c.account.password)
	switch tok {
	case tokenWrong:
		lf.Set("csrf_token", randomToken(max(len(f.get("csrf_token")), 43)))
	case tokenValid:
		lf.Set("csrf_token", f.get("csrf_token"))
	}
	iex, err := a.do(http.MethodPost, "/login", lf, hdr)
	if err != nil {
		return broken(err)
	}
	if iex.redirect() && a.token() != "" {
		in, _, err := c.signedIn(a)
		if err != nil {
			return broken(err)
		}
		if in {
			return fail("a POST /login %s signed in (%s): login CSRF", how, iex.describe())
		}
	}
	return pass("POST /logout %s → %d, the session still signed in; POST /login %s → %d, not signed in", how, lex.status, how, iex.status)
}

func (c *checker) checkCSRFNoToken() outcome {
	return c.forge(tokenNone, nil, "without csrf_token")
}

func (c *checker) checkCSRFWrongToken() outcome {
	return c.forge(tokenWrong, nil, "with a wrong csrf_token")
}

func (c *checker) checkCSRFCrossSite() outcome {
	return c.forge(tokenValid, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": unset},
		"with a valid token, Sec-Fetch-Site: cross-site, no Origin")
}

func (c *checker) checkCSRFForeignOrigin() outcome {
	return c.forge(tokenValid, map[string]string{"Origin": "https://attacker.example", "Sec-Fetch-Site": unset},
		"with a valid token, Origin: https://attacker.example, no Sec-Fetch-Site")
}

// ---- caching

func (c *checker) checkNoStore() outcome {
	b, _, err := c.freshSession("no-store")
	if err != nil {
		return broken(err)
	}
	var pages []string
	for _, p := range []string{"/profile", "/sessions", "/account/password"} {
		ex, err := b.get(p)
		if err != nil {
			return broken(err)
		}
		if ex.status != http.StatusOK {
			if p == "/profile" {
				return fail("%s: the signed-in page did not answer 200", ex.describe())
			}
			continue
		}
		if !hasNoStore(ex.header) {
			return fail("%s has Cache-Control %q, not no-store", ex, ex.header.Get("Cache-Control"))
		}
		pages = append(pages, p)
	}
	n := 0
	for _, s := range c.sessionSets() {
		if !hasNoStore(s.ex.header) {
			return fail("%s sets %s with Cache-Control %q, not no-store", s.ex, c.cookieName, s.ex.header.Get("Cache-Control"))
		}
		n++
	}
	return pass("Cache-Control: no-store on %s and the %d responses that set %s", strings.Join(pages, ", "), n, c.cookieName)
}

func hasNoStore(h http.Header) bool {
	for _, v := range h.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-store") {
				return true
			}
		}
	}
	return false
}

// ---- browser security headers (read from every response of the run)

// pages are the responses that are not redirects; html those that are
// HTML documents.
func (c *checker) pages(htmlOnly bool) []*exchange {
	var out []*exchange
	for _, ex := range c.log {
		if ex.redirect() || ex.status < 200 {
			continue
		}
		if htmlOnly && !strings.HasPrefix(strings.ToLower(ex.header.Get("Content-Type")), "text/html") {
			continue
		}
		out = append(out, ex)
	}
	return out
}

func distinctPaths(exs []*exchange) int {
	seen := map[string]bool{}
	for _, ex := range exs {
		p, _, _ := strings.Cut(ex.path, "?")
		seen[p] = true
	}
	return len(seen)
}

var okReferrer = map[string]bool{"no-referrer": true, "same-origin": true, "strict-origin": true, "strict-origin-when-cross-origin": true}

func (c *checker) checkSecurityHeaders() outcome {
	pages := c.pages(false)
	if len(pages) == 0 {
		return fail("no response to check")
	}
	for _, ex := range pages {
		h := ex.header
		if !strings.EqualFold(strings.TrimSpace(h.Get("X-Content-Type-Options")), "nosniff") {
			return fail("%s: X-Content-Type-Options %q, want nosniff", ex.describe(), h.Get("X-Content-Type-Options"))
		}
		rp := referrerPolicy(h)
		if !okReferrer[rp] {
			return fail("%s: Referrer-Policy %q leaks URLs to other origins", ex.describe(), rp)
		}
		if coop := strings.TrimSpace(h.Get("Cross-Origin-Opener-Policy")); coop != "same-origin" && coop != "same-origin-allow-popups" {
			return fail("%s: Cross-Origin-Opener-Policy %q, want same-origin", ex.describe(), coop)
		}
	}
	h := pages[0].header
	return pass("nosniff, Referrer-Policy %s, COOP %s on all %d non-redirect responses (%d paths)",
		referrerPolicy(h), h.Get("Cross-Origin-Opener-Policy"), len(pages), distinctPaths(pages))
}

// referrerPolicy is the policy a browser applies: the last one it knows.
func referrerPolicy(h http.Header) string {
	policy := ""
	for _, v := range h.Values("Referrer-Policy") {
		for _, p := range strings.Split(v, ",") {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				policy = p
			}
		}
	}
	return policy
}

// csp is one policy: directive → sources.
type csp map[string][]string

func parseCSP(v string) csp {
	p := csp{}
	for _, d := range strings.Split(v, ";") {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if _, dup := p[name]; !dup { // the first occurrence counts
			p[name] = f[1:]
		}
	}
	return p
}

// effective is the sources of directive, falling back to default-src
// (ok false when neither is there).
func (p csp) effective(directive string) ([]string, bool) {
	if s, ok := p[directive]; ok {
		return s, true
	}
	s, ok := p["default-src"]
	return s, ok
}

func policies(h http.Header) []csp {
	var out []csp
	for _, v := range h.Values("Content-Security-Policy") {
		out = append(out, parseCSP(v))
	}
	return out
}

// cspProblem returns what is wrong with a page's policies ("" if nothing).
func cspProblem(h http.Header) string {
	ps := policies(h)
	if len(ps) == 0 {
		return "no Content-Security-Policy"
	}
	for _, p := range ps {
		for d, srcs := range p {
			for _, s := range srcs {
				if strings.HasPrefix(strings.ToLower(s), "'unsafe-") {
					return fmt.Sprintf("%s allows %s", d, s)
				}
			}
		}
	}
	// Each requirement met by at least one policy (all are enforced).
	var script, object, base bool
	for _, p := range ps {
		if srcs, ok := p.effective("script-src"); ok && !slices.ContainsFunc(srcs, wideSource) {
			script = true
		}
		if srcs, ok := p.effective("object-src"); ok && len(srcs) == 1 && srcs[0] == "'none'" {
			object = true
		}
		if srcs, ok := p["base-uri"]; ok && len(srcs) == 1 && (srcs[0] == "'none'" || srcs[0] == "'self'") {
			base = true
		}
	}
	switch {
	case !script:
		return "no script-src (or default-src) without wildcards"
	case !object:
		return "no object-src 'none'"
	case !base:
		return "no base-uri 'none' or 'self'"
	}
	return ""
}

func wideSource(s string) bool {
	switch strings.ToLower(s) {
	case "*", "http:", "https:", "data:", "blob:", "filesystem:":
		return true
	}
	return strings.HasPrefix(s, "*")
}

func (c *checker) checkCSP() outcome {
	pages := c.pages(true)
	if len(pages) == 0 {
		return fail("no HTML page to check")
	}
	for _, ex := range pages {
		if p := cspProblem(ex.header); p != "" {
			return fail("%s: %s", ex.describe(), p)
		}
	}
	p := parseCSP(pages[0].header.Get("Content-Security-Policy"))
	script, _ := p.effective("script-src")
	return pass("no unsafe-*, script-src %s, object-src 'none', base-uri %s on all %d HTML pages (%d paths)",
		strings.Join(script, " "), strings.Join(p["base-uri"], " "), len(pages), distinctPaths(pages))
}

func (c *checker) checkFrameAncestors() outcome {
	pages := c.pages(true)
	if len(pages) == 0 {
		return fail("no HTML page to check")
	}
	value := ""
	for _, ex := range pages {
		found := false
		for _, p := range policies(ex.header) {
			if srcs, ok := p["frame-ancestors"]; ok && len(srcs) > 0 && !slices.ContainsFunc(srcs, wideSource) {
				found, value = true, strings.Join(srcs, " ")
			}
		}
		if !found {
			xfo := ex.header.Get("X-Frame-Options")
			if xfo != "" {
				return fail("%s: no CSP frame-ancestors (X-Frame-Options %s alone is obsolete)", ex.describe(), xfo)
			}
			return fail("%s: no CSP frame-ancestors: any site may frame it", ex.describe())
		}
	}
	extra := ""
	if xfo := pages[0].header.Get("X-Frame-Options"); xfo != "" {
		extra = ", X-Frame-Options " + xfo + " too"
	}
	return pass("frame-ancestors %s on all %d HTML pages%s", value, len(pages), extra)
}

func (c *checker) checkHSTS() outcome {
	if c.opts.target.Scheme != "https" {
		return skip("plain http target: HSTS is only sent and honoured over https (check the https URL)")
	}
	if len(c.log) == 0 {
		return fail("no response to check")
	}
	for _, ex := range c.log {
		v := ex.header.Get("Strict-Transport-Security")
		if age := hstsMaxAge(v); age < 31536000 {
			if v == "" {
				return fail("%s: no Strict-Transport-Security", ex.describe())
			}
			return fail("%s: Strict-Transport-Security %q: max-age under a year", ex.describe(), v)
		}
	}
	return pass("Strict-Transport-Security %q on all %d responses", c.log[0].header.Get("Strict-Transport-Security"), len(c.log))
}

func hstsMaxAge(v string) int64 {
	for _, d := range strings.Split(v, ";") {
		k, val, _ := strings.Cut(strings.TrimSpace(d), "=")
		if strings.EqualFold(k, "max-age") {
			n, err := strconv.ParseInt(strings.Trim(val, `"`), 10, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}

// ---- authentication answers

// csrfInput matches an <input> carrying a csrf_token, to blank its value.
var csrfInput = regexp.MustCompile(`(?i)<input[^>]*name="?csrf_token"?[^>]*>`)

// normalise removes what may differ per request from a login answer: the
// CSRF token and the email typed.
func normalise(body []byte, email string) []byte {
	body = csrfInput.ReplaceAll(body, []byte(`<input name="csrf_token">`))
	body = bytes.ReplaceAll(body, []byte(html.EscapeString(email)), []byte("EMAIL"))
	return bytes.ReplaceAll(body, []byte(email), []byte("EMAIL"))
}

// excerpt is up to 40 bytes of b around at, as a quoted string.
func excerpt(b []byte, at int) string {
	from, to := max(0, at-10), min(len(b), at+30)
	return strconv.Quote(string(b[from:to]))
}

func (c *checker) checkEnumeration() outcome {
	a := c.newBrowser("enumeration")
	f, _, err := c.loginPage(a)
	if err != nil {
		return broken(err)
	}
	unknown := "sessioncheck-nobody-" + randomHex(6) + "@example.com"
	type sample struct {
		status int
		body   []byte
		dur    time.Duration
	}
	var got [2][]sample // 0: unknown email, 1: wrong password
	for round := range 3 {
		for i := range 2 {
			kind := (i + round) % 2 // alternate which goes first
			email := unknown
			if kind == 1 {
				email = c.account.email
			}
			v := f.hidden()
			v.Set("email", email)
			wrong := randomText(20)
			v.Set("password", wrong)
			ex, err := a.post("/login", v)
			if err != nil {
				return broken(err)
			}
			if ex.status == http.StatusTooManyRequests {
				return skip("login throttled (%s) before the comparison: run again once the window has passed", ex.describe())
			}
			if ex.redirect() && a.token() != "" {
				return fail("a wrong password signed in: %s", ex.describe())
			}
			body := bytes.ReplaceAll(normalise(ex.body, email), []byte(wrong), []byte("PASSWORD"))
			got[kind] = append(got[kind], sample{ex.status, body, ex.duration})
		}
	}
	ref := got[0][0]
	for kind, ss := range got {
		for _, s := range ss {
			if s.status != ref.status {
				return fail("unknown email → %d, wrong password → %d", got[0][0].status, got[1][0].status)
			}
			if !bytes.Equal(s.body, ref.body) {
				at := firstDiff(s.body, ref.body)
				which := "two unknown-email answers"
				if kind == 1 {
					which = "the unknown-email and wrong-password answers"
				}
				return fail("%s differ after removing CSRF tokens and the email: at byte %d, %s vs %s", which, at, excerpt(ref.body, at), excerpt(s.body, at))
			}
		}
	}
	if ref.status != http.StatusUnauthorized && ref.status != http.StatusOK && ref.status != http.StatusUnprocessableEntity && ref.status != http.StatusBadRequest {
		return fail("a failed login answered %d", ref.status)
	}
	return pass("both %d with identical bodies (%d bytes, CSRF token and email removed); median time: unknown email %s, wrong password %s (reported, not asserted)",
		ref.status, len(ref.body), median(got[0], func(s sample) time.Duration { return s.dur }), median(got[1], func(s sample) time.Duration { return s.dur }))
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func median[T any](xs []T, f func(T) time.Duration) time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = f(x)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	return ds[len(ds)/2].Round(time.Millisecond)
}

func (c *checker) checkLongPassword() outcome {
	pw := c.account.password
	probe := "the password typed is the account's 72-byte one plus a byte: a server that truncates would sign in"
	var long string
	switch {
	case len(pw) == 72:
		long = pw + "x"
	case len(pw) < 72:
		long = pw + strings.Repeat("x", 73-len(pw))
		probe = "truncation not probed: the given password is not 72 bytes"
	default:
		long = pw[:73]
		probe = "the given password is over 72 bytes"
	}
	a := c.newBrowser("long-password")
	ex, signed, err := c.login(a, &account{email: c.account.email, password: long}, nil)
	if err != nil {
		return broken(err)
	}
	if signed {
		return fail("POST /login with a 73-byte password signed in (%s): %s", ex.describe(), probe)
	}
	if ex.status < 400 || ex.status >= 500 {
		return fail("POST /login with a 73-byte password → %d, want a 4xx refusal", ex.status)
	}
	s := c.newBrowser("long-signup")
	acct := &account{email: "sessioncheck-long-" + randomHex(6) + "@example.com", password: randomText(73)}
	sex, err := c.signup(s, acct)
	if err != nil {
		return broken(err)
	}
	if sex.redirect() && s.token() != "" {
		c.throwaways = append(c.throwaways, acct)
		return fail("POST /signup with a 73-byte password created the account (%s)", sex.describe())
	}
	if sex.status < 400 || sex.status >= 500 {
		return fail("POST /signup with a 73-byte password → %d, want a 4xx refusal", sex.status)
	}
	return pass("POST /login with 73 bytes → %d, not signed in (%s); POST /signup with 73 bytes → %d", ex.status, probe, sex.status)
}

// ---- opt-in checks

func (c *checker) checkThrottle() outcome {
	a := c.newBrowser("throttle")
	f, _, err := c.loginPage(a)
	if err != nil {
		return broken(err)
	}
	email := "sessioncheck-throttle-" + randomHex(6) + "@example.com"
	for i := 1; i <= c.opts.throttleAttempts; i++ {
		v := f.hidden()
		v.Set("email", email)
		v.Set("password", randomText(20))
		ex, err := a.post("/login", v)
		if err != nil {
			return broken(err)
		}
		if ex.status == http.StatusTooManyRequests {
			ra := ex.header.Get("Retry-After")
			if d, ok := retryAfter(ra); !ok || d <= 0 {
				return fail("429 after %d failed logins on one account, but Retry-After is %q", i-1, ra)
			}
			return pass("after %d failed logins on one account: 429 with Retry-After: %s", i-1, ra)
		}
		if ex.redirect() && a.token() != "" {
			return fail("a wrong password signed in: %s", ex.describe())
		}
	}
	return fail("no 429 in %d failed logins on one account (-throttle-attempts)", c.opts.throttleAttempts)
}

func (c *checker) checkIPBinding() outcome {
	b, _, err := c.freshSession("ip-binding")
	if err != nil {
		return broken(err)
	}
	ok, ex, err := c.signedIn(b)
	if err != nil {
		return broken(err)
	}
	if !ok {
		return fail("a fresh session is not signed in: %s", ex.describe())
	}
	r := c.withSession("ip-replay", b.token())
	r.alt = true
	in, rex, err := c.signedIn(r)
	if err != nil {
		return broken(err)
	}
	if in {
		return fail("the cookie replayed from %s is signed in (%s)", c.opts.sourceIP, rex.describe())
	}
	after, aex, err := c.signedIn(b)
	if err != nil {
		return broken(err)
	}
	state := "ended (strict binding)"
	if after {
		state = "still signed in"
	}
	return pass("replayed from %s: %s; the session from the sign-in address afterwards: %s (%s)", c.opts.sourceIP, rex.describe(), state, aex.describe())
}

// revokeForms reads /sessions: the revoke form of each session, and the
// id of the current one (its row is marked "current" or "this session").
func (c *checker) revokeForms(b *browser) (forms map[string]*form, current string, ex *exchange, err error) {
	ex, err = b.get("/sessions")
	if err != nil {
		return nil, "", nil, err
	}
	forms = map[string]*form{}
	for _, f := range c.forms(ex) {
		id, ok := strings.CutPrefix(f.action, "/sessions/")
		if !ok || !strings.HasSuffix(id, "/revoke") || f.method != http.MethodPost {
			continue
		}
		id = strings.TrimSuffix(id, "/revoke")
		forms[id] = &f
		row := strings.ToLower(f.row)
		if strings.Contains(row, "current") || strings.Contains(row, "this session") {
			current = id
		}
	}
	return forms, current, ex, nil
}

func (c *checker) checkRevoke() outcome {
	// An account of its own: ending "all other sessions" of the run's
	// account would also end the -idle session, and of a given account
	// the owner's real ones.
	acct, a, oc := c.throwaway("revoke")
	if a == nil {
		return oc
	}
	bs := [3]*browser{a}
	for i, name := range []string{"revoke-b", "revoke-c"} {
		b := c.newBrowser(name)
		ex, ok, err := c.login(b, acct, nil)
		if err != nil {
			return broken(err)
		}
		if !ok {
			return fail("a second login refused: %s", ex.describe())
		}
		bs[i+1] = b
	}
	a, b, third := bs[0], bs[1], bs[2]
	formsA, idA, exA, err := c.revokeForms(a)
	if err != nil {
		return broken(err)
	}
	_, idB, _, err := c.revokeForms(b)
	if err != nil {
		return broken(err)
	}
	switch {
	case len(formsA) == 0:
		return fail("%s lists no session with a revoke form", exA.describe())
	case idA == "" || idB == "":
		return skip("cannot tell the current session on /sessions (no row marked \"current\" or \"this session\")")
	case idA == idB:
		return fail("two sessions show the same id on /sessions")
	}
	f := formsA[idB]
	if f == nil {
		return fail("the second session is not listed on the first's /sessions")
	}
	v := f.hidden()
	if f.has("password") {
		v.Set("password", acct.password)
	}
	ex, err := a.post(f.action, v)
	if err != nil {
		return broken(err)
	}
	revoked := strings.Replace(ex.describe(), "/sessions/"+idB+"/", "/sessions/{id}/", 1)
	if ex.status >= 400 {
		return fail("%s", revoked)
	}
	states := func() (sa, sb, sc bool, err error) {
		if sa, _, err = c.replay("revoke-check", a.token()); err != nil {
			return
		}
		if sb, _, err = c.replay("revoke-check", b.token()); err != nil {
			return
		}
		sc, _, err = c.replay("revoke-check", third.token())
		return
	}
	sa, sb, sc, err := states()
	switch {
	case err != nil:
		return broken(err)
	case sb:
		return fail("after %s the ended session is still signed in", revoked)
	case !sa || !sc:
		return fail("ending one session through /sessions ended others too (this one signed in: %t, a third: %t)", sa, sc)
	}
	page, err := a.get("/sessions")
	if err != nil {
		return broken(err)
	}
	fo, ok := c.formFor(page, "/sessions/revoke-others")
	if !ok {
		return fail("%s: no form posting to /sessions/revoke-others", page.describe())
	}
	v = fo.hidden()
	if fo.has("password") {
		v.Set("password", acct.password)
	}
	ex2, err := a.post("/sessions/revoke-others", v)
	if err != nil {
		return broken(err)
	}
	sa, _, sc, err = states()
	switch {
	case err != nil:
		return broken(err)
	case sc:
		return fail("after %s another session is still signed in", ex2.describe())
	case !sa:
		return fail("%s ended this session too", ex2.describe())
	}
	return pass("%s: that session anonymous at once, this one and a third signed in; %s: the third anonymous, this one signed in",
		revoked, ex2.describe())
}

// throwaway signs up an account of the check's own in a new browser,
// which it returns signed in; without one, the outcome says why.
func (c *checker) throwaway(kind string) (*account, *browser, outcome) {
	acct := newAccount(kind)
	b := c.newBrowser(kind)
	ex, err := c.signup(b, acct)
	if err != nil {
		return nil, nil, broken(err)
	}
	if !ex.redirect() || b.token() == "" {
		return nil, nil, skip("needs a throwaway account of its own, but sign-up answered %d", ex.status)
	}
	c.throwaways = append(c.throwaways, acct)
	return acct, b, outcome{}
}

func (c *checker) checkPasswordChange() outcome {
	acct, one, oc := c.throwaway("password-change")
	if one == nil {
		return oc
	}
	other := c.newBrowser("password-change-other")
	lex, ok, err := c.login(other, acct, nil)
	if err != nil {
		return broken(err)
	}
	if !ok {
		return fail("a second login refused: %s", lex.describe())
	}
	page, err := one.get("/account/password")
	if err != nil {
		return broken(err)
	}
	f, found := c.formFor(page, "/account/password")
	if !found || !f.has("current_password") || !f.has("new_password") {
		return fail("%s: no form posting current_password and new_password to /account/password", page.describe())
	}
	v := f.hidden()
	newPassword := randomText(72)
	v.Set("current_password", acct.password)
	v.Set("new_password", newPassword)
	signOut := "1"
	for _, fl := range f.fields {
		if fl.name == "sign_out_others" && fl.value != "" {
			signOut = fl.value
		}
	}
	v.Set("sign_out_others", signOut)
	old := one.token()
	cex, err := one.post("/account/password", v)
	if err != nil {
		return broken(err)
	}
	if !cex.redirect() {
		return fail("%s: the password was not changed", cex.describe())
	}
	acct.password = newPassword
	renewed := one.token()
	switch {
	case renewed == "":
		return fail("%s left no session cookie", cex.describe())
	case renewed == old:
		return fail("%s kept the session token (%s): not renewed at re-authentication", cex.describe(), fingerprint(old))
	}
	oldIn, _, err := c.replay("password-change-old", old)
	if err != nil {
		return broken(err)
	}
	if oldIn {
		return fail("the token from before the change (%s) is still signed in", fingerprint(old))
	}
	in, iex, err := c.signedIn(one)
	if err != nil {
		return broken(err)
	}
	if !in {
		return fail("the session that changed the password is not signed in: %s", iex.describe())
	}
	otherIn, oex, err := c.signedIn(other)
	if err != nil {
		return broken(err)
	}
	if otherIn {
		return fail("with sign_out_others the other session is still signed in (%s)", oex.describe())
	}
	return pass("%s: token renewed (%s → %s), the old one anonymous; the other session anonymous (%s); this one signed in",
		cex.describe(), fingerprint(old), fingerprint(renewed), oex.describe())
}

func (c *checker) checkIdle() outcome {
	if c.idle == nil {
		return fail("no idle session was set up")
	}
	wait := time.Until(c.idleSince.Add(c.opts.idle))
	if wait > 0 {
		fmt.Fprintf(c.notes, "sessioncheck: idle-timeout: waiting %s\n", wait.Round(time.Second))
		select {
		case <-time.After(wait):
		case <-c.ctx.Done():
			return skip("not finished: the run was cancelled during the -idle wait")
		}
	}
	idleFor := time.Since(c.idleSince).Round(100 * time.Millisecond)
	in, ex, err := c.signedIn(c.idle)
	if err != nil {
		return broken(err)
	}
	if in {
		return fail("still signed in after %s without a request (%s)", idleFor, ex.describe())
	}
	return pass("signed in, then no request for %s: %s", idleFor, ex.describe())
}

// ---- tokens (read from the whole run)

func (c *checker) checkNotExposed() outcome {
	if len(c.issuedOrder) == 0 {
		return fail("no session token was issued")
	}
	for _, ex := range c.log {
		for _, tok := range c.issuedOrder {
			needles := []string{tok}
			if esc := url.QueryEscape(tok); esc != tok {
				needles = append(needles, esc)
			}
			for _, n := range needles {
				if bytes.Contains(ex.body, []byte(n)) {
					return fail("a session token (%s) is in the body of %s", fingerprint(tok), ex.describe())
				}
				for k, vs := range ex.header {
					if k == "Set-Cookie" {
						continue
					}
					for _, v := range vs {
						if strings.Contains(v, n) {
							return fail("a session token (%s) is in the %s header of %s", fingerprint(tok), k, ex)
						}
					}
				}
			}
		}
	}
	return pass("none of the %d tokens issued is in any of the %d bodies, Location or other headers", len(c.issuedOrder), len(c.log))
}

func (c *checker) checkEntropy() outcome {
	toks := c.issuedOrder
	if len(c.repeats) > 0 {
		return fail("a token was issued twice: %s", c.repeats[0])
	}
	if len(toks) < 3 {
		return fail("only %d session tokens were issued; need at least 3", len(toks))
	}
	var decoded [][]byte
	enc := ""
	for _, t := range toks {
		b, e := decodeToken(t)
		if b == nil {
			return fail("a token (%d chars, %s) is neither hex nor base64: cannot measure its size", len(t), fingerprint(t))
		}
		if enc == "" {
			enc = e
		}
		if bits := 8 * len(b); bits < 128 {
			return fail("a token decodes (%s) to %d bits, under 128 (%d chars, %s)", e, bits, len(t), fingerprint(t))
		}
		decoded = append(decoded, b)
	}
	minBits := 8 * len(decoded[0])
	for _, d := range decoded {
		minBits = min(minBits, 8*len(d))
	}
	// Random tokens differ in about half their bits; a counter or a
	// timestamp does not.
	minDist := -1
	for i := range decoded {
		for j := i + 1; j < len(decoded); j++ {
			if len(decoded[i]) != len(decoded[j]) {
				continue
			}
			if d := hamming(decoded[i], decoded[j]); minDist < 0 || d < minDist {
				minDist = d
			}
		}
	}
	if minDist >= 0 && minDist < minBits/4 {
		return fail("two of the %d tokens differ in only %d of %d bits: not random", len(toks), minDist, minBits)
	}
	return pass("%d tokens issued, all distinct; %d-char %s = %d bits; least pairwise Hamming distance %d bits",
		len(toks), len(toks[0]), enc, minBits, minDist)
}

// decodeToken decodes a token as hex or one of the base64 alphabets.
func decodeToken(t string) ([]byte, string) {
	if len(t)%2 == 0 && strings.Trim(strings.ToLower(t), "0123456789abcdef") == "" {
		b := make([]byte, len(t)/2)
		for i := range b {
			v, err := strconv.ParseUint(t[2*i:2*i+2], 16, 8)
			if err != nil {
				return nil, ""
			}
			b[i] = byte(v)
		}
		return b, "hex"
	}
	for _, e := range base64Encodings {
		if b, err := e.enc.DecodeString(t); err == nil {
			return b, e.name
		}
	}
	return nil, ""
}

func hamming(a, b []byte) int {
	n := 0
	for i := range a {
		x := a[i] ^ b[i]
		for x != 0 {
			n += int(x & 1)
			x >>= 1
		}
	}
	return n
}

var base64Encodings = []struct {
	name string
	enc  *base64.Encoding
}{
	{"base64url", base64.RawURLEncoding}, {"base64url", base64.URLEncoding},
	{"base64", base64.RawStdEncoding}, {"base64", base64.StdEncoding},
}
