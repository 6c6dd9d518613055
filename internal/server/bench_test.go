package server_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/assembly"
	"github.com/sessionlab/sessionlab/internal/config"
)

// Benchmarks report ratios measured side by side in one run (make bench);
// no test asserts a duration.

// benchServer is the app as assembly.New builds it, on a SQLite file of
// its own (users and sessions).
func benchServer(b *testing.B, cost int) http.Handler {
	b.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	cfg.DatabaseURL = "sqlite:" + filepath.Join(b.TempDir(), "sessionlab.db")
	cfg.BcryptCost = cost
	// bcrypt in this process: a test binary is no worker (cmd/web's tests and
	// the built binary's run it in worker processes, the default).
	cfg.BcryptWorkers = config.BcryptInThreads
	// Measure hashing, not throttling. BenchmarkLoginTiming spends one
	// failure of the known account per iteration: at cost 12 (~0.2 s) the
	// account limit of 100 allows -benchtime up to about 40 s.
	cfg.LoginAccountLimit, cfg.LoginIPLimit = 100, 1<<30
	app, err := assembly.New(b.Context(), cfg, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { app.Close() })
	return app.Handler
}

// inproc drives a handler over real HTTP on loopback (one keep-alive
// connection, as a browser would), carrying its cookies by hand (the
// session's, and the login form's CSRF cookie).
type inproc struct {
	h       http.Handler
	srv     *httptest.Server
	cookies map[string]string
	csrf    string
}

var benchCSRF = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

type benchResponse struct {
	Code int
	body string
}

func (c *inproc) do(b *testing.B, method, path string, form url.Values) benchResponse {
	if c.srv == nil {
		c.srv = httptest.NewServer(c.h)
		b.Cleanup(c.srv.Close)
	}
	var body io.Reader
	if form != nil {
		form.Set("csrf_token", c.csrf)
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, c.srv.URL+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	res, err := c.srv.Client().Transport.RoundTrip(req)
	if err != nil {
		b.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if c.cookies == nil {
		c.cookies = map[string]string{}
	}
	for _, ck := range res.Cookies() {
		if ck.MaxAge < 0 || ck.Value == "" {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	if m := benchCSRF.FindSubmatch(raw); m != nil {
		c.csrf = string(m[1])
	}
	return benchResponse{Code: res.StatusCode, body: string(raw)}
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkLoginTiming: failed logins for an unknown email and for a known
// email with a wrong password, alternating, at the default bcrypt cost. The
// metric unknown/wrong near 1.00 is what keeps timing from telling who has
// an account (ASVS 6.3.8: within 10%).
func BenchmarkLoginTiming(b *testing.B) {
	h := benchServer(b, 12)
	c := &inproc{h: h}
	c.do(b, http.MethodGet, "/signup", nil)
	c.do(b, http.MethodPost, "/signup", url.Values{"email": {"known@example.com"}, "password": {"the-right-password"}})
	// The signed-in session has a CSRF token of its own: read it from a
	// page, then log out, so that the loop's logins are anonymous ones.
	c.do(b, http.MethodGet, "/profile", nil)
	if r := c.do(b, http.MethodPost, "/logout", url.Values{}); r.Code != http.StatusSeeOther {
		b.Fatalf("logout answered %d, want 303", r.Code)
	}
	var tUnknown, tWrong []time.Duration
	b.ResetTimer()
	for b.Loop() {
		c.do(b, http.MethodGet, "/login", nil)
		start := time.Now()
		r1 := c.do(b, http.MethodPost, "/login", url.Values{"email": {"nobody@example.com"}, "password": {"a-wrong-password"}})
		mid := time.Now()
		r2 := c.do(b, http.MethodPost, "/login", url.Values{"email": {"known@example.com"}, "password": {"a-wrong-password"}})
		tUnknown, tWrong = append(tUnknown, mid.Sub(start)), append(tWrong, time.Since(mid))
		if r1.Code != http.StatusUnauthorized || r2.Code != http.StatusUnauthorized {
			b.Fatalf("failed logins answered %d and %d, want 401", r1.Code, r2.Code)
		}
	}
	mu, mw := median(tUnknown), median(tWrong)
	b.ReportMetric(float64(mu.Milliseconds()), "unknown-ms")
	b.ReportMetric(float64(mw.Milliseconds()), "wrong-ms")
	b.ReportMetric(float64(mu)/float64(mw), "unknown/wrong")
}
