package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// maxBody is the most of a response body kept (and scanned for tokens).
const maxBody = 4 << 20

// exchange is one request and its response, as the checks see it.
type exchange struct {
	seq      int
	browser  *browser
	method   string
	path     string // relative to the target's base path, with its query
	carried  string // the session cookie the request carried ("" if none)
	remember bool   // sent by a browser that asked for "keep me signed in"
	status   int
	header   http.Header
	body     []byte
	cookies  []setCookie
	duration time.Duration
}

// setCookie is one Set-Cookie header of a response.
type setCookie struct {
	cookie *http.Cookie
}

func (e *exchange) String() string { return e.method + " " + e.path }

// describe is "GET /profile → 303 /login?next=/profile".
func (e *exchange) describe() string {
	s := fmt.Sprintf("%s → %d", e, e.status)
	if loc := e.header.Get("Location"); loc != "" && e.status >= 300 && e.status < 400 {
		s += " " + loc
	}
	return s
}

// sessionSet returns the last Set-Cookie of the session cookie in this
// response, or nil.
func (e *exchange) sessionSet() *http.Cookie {
	name := e.browser.c.cookieName
	var last *http.Cookie
	for _, sc := range e.cookies {
		if sc.cookie.Name == name {
			last = sc.cookie
		}
	}
	return last
}

// redirect reports whether the status is a redirect.
func (e *exchange) redirect() bool { return e.status >= 300 && e.status < 400 }

// browser is one client with its own cookies: a tab in its own browser
// profile. Cookies are kept by name only (one origin), and Secure cookies
// are sent over http too, as browsers do for http://localhost — Go's
// cookiejar would not.
type browser struct {
	c        *checker
	name     string
	jar      map[string]string
	alt      bool // connects from -source-ip
	remember bool // logged in with "keep me signed in"
}

func (c *checker) newBrowser(name string) *browser {
	return &browser{c: c, name: name, jar: map[string]string{}}
}

// withSession is a fresh browser holding only the given session cookie:
// a copied cookie, replayed.
func (c *checker) withSession(name, token string) *browser {
	b := c.newBrowser(name)
	if token != "" {
		b.jar[c.cookieName] = token
	}
	return b
}

// clone is a copy of b with the same cookies; what it receives does not
// change b.
func (b *browser) clone(name string) *browser {
	n := b.c.newBrowser(name)
	for k, v := range b.jar {
		n.jar[k] = v
	}
	n.alt, n.remember = b.alt, b.remember
	return n
}

// token is the session cookie b holds ("" when none).
func (b *browser) token() string { return b.jar[b.c.cookieName] }

// errRun is an error that stops the run: the deadline passed or the
// request budget is spent.
type errRun struct{ msg string }

func (e errRun) Error() string { return e.msg }

// unset, as a header value given to do, removes that default header.
const unset = "\x00unset"

func (b *browser) get(path string) (*exchange, error) { return b.do(http.MethodGet, path, nil, nil) }

func (b *browser) post(path string, form url.Values) (*exchange, error) {
	return b.do(http.MethodPost, path, form, nil)
}

// do sends one request. A POST carries the headers a browser sends on a
// same-origin form submission (Origin, Sec-Fetch-Site: same-origin)
// unless hdr says otherwise (a value of unset removes one). A 503 with a
// short Retry-After (a busy password hasher) is retried twice.
func (b *browser) do(method, path string, form url.Values, hdr map[string]string) (*exchange, error) {
	c := b.c
	var ex *exchange
	var err error
	for attempt := 0; ; attempt++ {
		ex, err = b.once(method, path, form, hdr)
		if err != nil || ex.status != http.StatusServiceUnavailable || attempt == 2 {
			return ex, err
		}
		wait, ok := retryAfter(ex.header.Get("Retry-After"))
		if !ok || wait > 3*time.Second {
			return ex, nil
		}
		select {
		case <-time.After(wait):
		case <-c.ctx.Done():
			return ex, nil
		}
	}
}

func (b *browser) once(method, path string, form url.Values, hdr map[string]string) (*exchange, error) {
	c := b.c
	if c.stop != nil {
		return nil, c.stop
	}
	if err := c.ctx.Err(); err != nil {
		c.stop = errRun{fmt.Sprintf("the deadline (-deadline %s) passed", c.opts.deadline)}
		return nil, c.stop
	}
	if c.requests >= c.opts.maxRequests {
		c.stop = errRun{fmt.Sprintf("the request budget (-max-requests %d) is spent", c.opts.maxRequests)}
		return nil, c.stop
	}
	c.requests++

	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.url(path), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "sessioncheck/1 (Session Lab black-box verifier)")
	req.Header.Set("Accept", "text/html,*/*;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if method == http.MethodPost {
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	for k, v := range hdr {
		if v == unset {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	if len(b.jar) > 0 {
		names := make([]string, 0, len(b.jar))
		for k := range b.jar {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := make([]string, len(names))
		for i, k := range names {
			parts[i] = k + "=" + b.jar[k]
		}
		req.Header.Set("Cookie", strings.Join(parts, "; "))
	}
	client := c.client
	if b.alt {
		client = c.alt
	}
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		if c.ctx.Err() != nil {
			c.stop = errRun{fmt.Sprintf("the deadline (-deadline %s) passed", c.opts.deadline)}
			return nil, c.stop
		}
		if c.connErr == nil {
			c.connErr = fmt.Errorf("%s %s: %w", method, path, scrubURLError(err))
		}
		return nil, fmt.Errorf("%s %s: %w", method, path, scrubURLError(err))
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
	if err != nil {
		if c.connErr == nil {
			c.connErr = fmt.Errorf("%s %s: reading the body: %w", method, path, err)
		}
		return nil, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	ex := &exchange{seq: len(c.log), browser: b, method: method, path: path, carried: b.token(), remember: b.remember,
		status: res.StatusCode, header: res.Header, body: data, duration: time.Since(start)}
	for _, line := range res.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		ex.cookies = append(ex.cookies, setCookie{cookie: ck})
		if cookieDeleted(ck) {
			delete(b.jar, ck.Name)
		} else {
			b.jar[ck.Name] = ck.Value
		}
		if c.cookieName != "" && ck.Name == c.cookieName {
			c.noteSessionCookie(ex, ck)
		}
	}
	c.log = append(c.log, ex)
	return ex, nil
}

// scrubURLError drops the URL from a *url.Error: it is the target's, and
// printing the method and path is enough.
func scrubURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// cookieDeleted reports whether a Set-Cookie removes the cookie.
func cookieDeleted(ck *http.Cookie) bool {
	if ck.MaxAge < 0 {
		return true
	}
	if ck.MaxAge == 0 && !ck.Expires.IsZero() && !ck.Expires.After(time.Now()) {
		return true
	}
	return ck.Value == ""
}

// noteSessionCookie records a session token the server handed out. A
// Set-Cookie with the value the request carried is a refresh of the same
// session; any other value is an issuance, and one already issued before
// is a repeat.
func (c *checker) noteSessionCookie(ex *exchange, ck *http.Cookie) {
	if cookieDeleted(ck) {
		return
	}
	if ck.Value == ex.carried {
		return
	}
	if _, seen := c.issued[ck.Value]; seen {
		c.repeats = append(c.repeats, fmt.Sprintf("%s (%s)", fingerprint(ck.Value), ex))
		return
	}
	c.issued[ck.Value] = ex
	c.issuedOrder = append(c.issuedOrder, ck.Value)
}

// url is the absolute URL of path on the target.
func (c *checker) url(path string) string {
	return c.opts.target.Scheme + "://" + c.opts.target.Host + c.opts.target.Path + path
}

// fingerprint names a secret without revealing it: the first 8 hex
// digits of its SHA-256.
func fingerprint(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:4])
}

// retryAfter parses a Retry-After value: delay-seconds or an HTTP date.
func retryAfter(v string) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, time.Until(t)), true
	}
	return 0, false
}

// form is one <form> of a page.
type form struct {
	action string // path relative to the target's base, without query
	method string
	fields []field
	text   string // the form's own text (button labels)
	row    string // class and text of the enclosing table row, if any
}

type field struct {
	name, typ, value string
	checked          bool
}

// has reports whether the form has a field called name.
func (f *form) has(name string) bool {
	for _, fl := range f.fields {
		if fl.name == name {
			return true
		}
	}
	return false
}

// get returns the value of the field called name.
func (f *form) get(name string) string {
	for _, fl := range f.fields {
		if fl.name == name {
			return fl.value
		}
	}
	return ""
}

// hidden returns the form's hidden fields as values to submit.
func (f *form) hidden() url.Values {
	v := url.Values{}
	for _, fl := range f.fields {
		if fl.typ == "hidden" && fl.name != "" {
			v.Add(fl.name, fl.value)
		}
	}
	return v
}

// forms parses the forms of a page.
func (c *checker) forms(ex *exchange) []form {
	doc, err := html.Parse(bytes.NewReader(ex.body))
	if err != nil {
		return nil
	}
	page, _ := url.Parse(c.url(ex.path))
	var out []form
	var walk func(n *html.Node, row *html.Node)
	walk = func(n *html.Node, row *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "tr":
				row = n
			case "form":
				f := form{method: strings.ToUpper(attr(n, "method")), text: textOf(n)}
				if f.method == "" {
					f.method = http.MethodGet
				}
				action := attr(n, "action")
				if u, err := url.Parse(action); err == nil && page != nil {
					ref := page.ResolveReference(u)
					f.action = strings.TrimPrefix(ref.Path, c.opts.target.Path)
				}
				if row != nil {
					f.row = attr(row, "class") + " " + textOf(row)
				}
				collectFields(n, &f)
				out = append(out, f)
				return
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, row)
		}
	}
	walk(doc, nil)
	return out
}

func collectFields(n *html.Node, f *form) {
	for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
		if ch.Type == html.ElementNode {
			switch ch.Data {
			case "input", "textarea", "select", "button":
				typ := strings.ToLower(attr(ch, "type"))
				if ch.Data != "input" {
					typ = ch.Data
				}
				_, checked := attrOK(ch, "checked")
				f.fields = append(f.fields, field{name: attr(ch, "name"), typ: typ, value: attr(ch, "value"), checked: checked})
			}
		}
		collectFields(ch, f)
	}
}

func attr(n *html.Node, key string) string {
	v, _ := attrOK(n, key)
	return v
}

func attrOK(n *html.Node, key string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val, true
		}
	}
	return "", false
}

func textOf(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
			sb.WriteByte(' ')
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return strings.Join(strings.Fields(sb.String()), " ")
}

// findElementAttr returns attribute key of the element whose id is id.
func findElementAttr(body []byte, id, key string) (string, bool) {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		return "", false
	}
	var found string
	var ok bool
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if ok {
			return
		}
		if n.Type == html.ElementNode && attr(n, "id") == id {
			found, ok = attrOK(n, key)
			return
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(doc)
	return found, ok
}

// formFor returns the first form of the page posting to action.
func (c *checker) formFor(ex *exchange, action string) (*form, bool) {
	for _, f := range c.forms(ex) {
		if f.action == action && f.method == http.MethodPost {
			return &f, true
		}
	}
	return nil, false
}

// csrfToken is the csrf_token of the first form of the page that has one.
func (c *checker) csrfToken(ex *exchange) (string, bool) {
	for _, f := range c.forms(ex) {
		if f.has("csrf_token") {
			return f.get("csrf_token"), true
		}
	}
	return "", false
}
