package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The names the real app gives its cookies.
const (
	sessionCookie = "__Host-session"
	csrfCookie    = "__Host-csrf"
)

// proxy is a reverse proxy in front of the real app that removes exactly
// one protection as seen from outside: it rewrites one thing in requests
// or responses, or answers one kind of request itself. The broken
// variants live here, in the tests, never in the binary.
type proxy struct {
	t    testing.TB
	app  *url.URL
	srv  *httptest.Server
	rp   *httputil.ReverseProxy
	side *http.Client // the proxy's own requests to the app

	// in runs first, with the request as the client sent it (its form
	// already read into ib.form); it may rewrite r, or answer it and
	// return true.
	in func(p *proxy, w http.ResponseWriter, r *http.Request, ib *inbound) bool
	// out rewrites the app's response to the request ib.
	out func(p *proxy, ib *inbound, res *http.Response)

	tokens tokenMap

	mu    sync.Mutex
	known map[string]bool // variant state (e.g. emails signed up)
	seen  []string        // every password and session token that passed, for the output test
}

// inbound is a request as the client sent it.
type inbound struct {
	method, path string
	cookie       string     // the session cookie ("" if none)
	form         url.Values // a POST's form
}

type inboundKey struct{}

// newProxy starts a proxy in front of a. With tlsOn it serves https with
// the test certificate.
func newProxy(t testing.TB, a *app, tlsOn bool, setup func(p *proxy)) *proxy {
	t.Helper()
	target, _ := url.Parse(a.url)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: testCert(t).pool}, MaxIdleConnsPerHost: 8}
	p := &proxy{t: t, app: target, known: map[string]bool{},
		side: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	p.tokens.init()
	p.rp = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Host = pr.In.Host // the app compares Origin with the Host the client used
			pr.SetXForwarded()       // the app trusts 127.0.0.1/32 for the client's address (IP binding)
		},
		Transport: tr,
		ModifyResponse: func(res *http.Response) error {
			ib, _ := res.Request.Context().Value(inboundKey{}).(*inbound)
			p.record(res)
			if p.out != nil && ib != nil {
				p.out(p, ib, res)
			}
			p.tokens.rewriteResponse(res)
			return nil
		},
	}
	if setup != nil {
		setup(p)
	}
	p.srv = httptest.NewUnstartedServer(p)
	if tlsOn {
		p.srv.TLS = &tls.Config{Certificates: []tls.Certificate{testCert(t).pair}}
		p.srv.StartTLS()
	} else {
		p.srv.Start()
	}
	t.Cleanup(func() {
		p.srv.Close()
		tr.CloseIdleConnections()
	})
	return p
}

func (p *proxy) url() string { return p.srv.URL }

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ib := &inbound{method: r.Method, path: r.URL.Path}
	if c, err := r.Cookie(sessionCookie); err == nil {
		ib.cookie = c.Value
	}
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body.Close()
		ib.form, _ = url.ParseQuery(string(body))
		setBody(r, body)
		p.mu.Lock()
		for _, k := range []string{"password", "current_password", "new_password"} {
			if v := ib.form.Get(k); v != "" {
				p.seen = append(p.seen, v)
			}
		}
		p.mu.Unlock()
	}
	if p.in != nil && p.in(p, w, r, ib) {
		return
	}
	p.tokens.rewriteRequest(r)
	p.rp.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), inboundKey{}, ib)))
}

// record keeps the session tokens the app hands out.
func (p *proxy) record(res *http.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range res.Header.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(l); err == nil && c.Name == sessionCookie && c.Value != "" {
			p.seen = append(p.seen, c.Value)
		}
	}
}

// secrets are the passwords and tokens seen so far.
func (p *proxy) secrets() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.seen...)
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	r.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// setForm replaces a POST's form.
func setForm(r *http.Request, ib *inbound) { setBody(r, []byte(ib.form.Encode())) }

// setRequestCookie sets (or with value "" removes) a cookie of r.
func setRequestCookie(r *http.Request, name, value string) {
	cs := r.Cookies()
	r.Header.Del("Cookie")
	done := false
	for _, c := range cs {
		if c.Name == name {
			if value == "" || done {
				continue
			}
			c.Value, done = value, true
		}
		r.AddCookie(c)
	}
	if !done && value != "" {
		r.AddCookie(&http.Cookie{Name: name, Value: value})
	}
}

// editSetCookies rewrites each Set-Cookie of name; f returns the cookie
// to send, or nil to drop it.
func editSetCookies(h http.Header, name string, f func(c *http.Cookie) *http.Cookie) {
	lines := h.Values("Set-Cookie")
	h.Del("Set-Cookie")
	for _, l := range lines {
		c, err := http.ParseSetCookie(l)
		if err != nil || c.Name != name {
			h.Add("Set-Cookie", l)
			continue
		}
		if c = f(c); c != nil {
			h.Add("Set-Cookie", c.String())
		}
	}
}

// sessionValue is the value the response sets the session cookie to
// ("" when it sets none, or deletes it).
func sessionValue(h http.Header) string {
	v := ""
	for _, l := range h.Values("Set-Cookie") {
		if c, err := http.ParseSetCookie(l); err == nil && c.Name == sessionCookie {
			v = c.Value
			if c.MaxAge < 0 {
				v = ""
			}
		}
	}
	return v
}

// editBody rewrites a response body.
func editBody(res *http.Response, f func([]byte) []byte) {
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	b = f(b)
	res.Body = io.NopCloser(bytes.NewReader(b))
	res.ContentLength = int64(len(b))
	res.Header.Set("Content-Length", strconv.Itoa(len(b)))
}

var csrfValue = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// validToken is the CSRF token the app expects from the request's
// client: its session's (read from /profile with the same cookies), or
// its anonymous double-submit cookie.
func (p *proxy) validToken(r *http.Request) string {
	if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
		req, _ := http.NewRequest(http.MethodGet, p.app.String()+"/profile", nil)
		req.Header.Set("Cookie", r.Header.Get("Cookie"))
		if res, err := p.side.Do(req); err == nil {
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if m := csrfValue.FindSubmatch(body); res.StatusCode == http.StatusOK && m != nil {
				return string(m[1])
			}
		}
	}
	if c, err := r.Cookie(csrfCookie); err == nil {
		return c.Value
	}
	return ""
}

// crossOrigin reports whether a browser marked the request cross-origin.
func crossOrigin(r *http.Request) bool {
	if s := r.Header.Get("Sec-Fetch-Site"); s != "" && s != "same-origin" && s != "none" {
		return true
	}
	o := r.Header.Get("Origin")
	return o != "" && !strings.HasSuffix(o, "://"+r.Host)
}

// tokenMap translates session tokens between what the client holds and
// what the app issued, for the variants that change tokens: a client
// value maps to an app value; "pending" client values were made up by
// the proxy and are hidden from the app until linked.
type tokenMap struct {
	mu      sync.Mutex
	c2a     map[string]string
	a2c     map[string]string
	pending map[string]bool
}

func (m *tokenMap) init() {
	m.c2a, m.a2c, m.pending = map[string]string{}, map[string]string{}, map[string]bool{}
}

func (m *tokenMap) link(client, app string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.pending, client)
	m.c2a[client], m.a2c[app] = app, client
}

func (m *tokenMap) isPending(client string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.pending[client]
}

func (m *tokenMap) addPending(client string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pending[client] = true
}

func (m *tokenMap) rewriteRequest(r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return
	}
	m.mu.Lock()
	app, mapped := m.c2a[c.Value]
	pending := m.pending[c.Value]
	m.mu.Unlock()
	switch {
	case mapped:
		setRequestCookie(r, sessionCookie, app)
	case pending:
		setRequestCookie(r, sessionCookie, "")
	}
}

func (m *tokenMap) rewriteResponse(res *http.Response) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.a2c) == 0 {
		return
	}
	editSetCookies(res.Header, sessionCookie, func(c *http.Cookie) *http.Cookie {
		if client, ok := m.a2c[c.Value]; ok && c.Value != "" {
			c.Value = client
		}
		return c
	})
}
