package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// Managed Redis, as a cloud provider runs it: TLS only (rediss://), a
// certificate from a private CA (REDIS_CA_FILE), a password for the
// default user (requirepass) and ACL users. Every test here runs the real
// program (run) over HTTPS against its own redis-server, and checks that
// no Redis password — raw, percent-encoded, or its random core — shows in
// a log line, a response body or a response header.

// redisSecret is a password no log line could hold by chance: random hex,
// which no encoding changes, between characters REDIS_URL must
// percent-encode (so the encoded form differs from the raw one).
type redisSecret struct{ pw, core string }

func newRedisSecret() redisSecret {
	b := make([]byte, 12)
	rand.Read(b)
	core := hex.EncodeToString(b)
	return redisSecret{pw: "p/" + core + "+:@ %", core: core}
}

// forms are the ways the password could be written out.
func (s redisSecret) forms() []string {
	return []string{
		s.pw,
		s.core,
		url.QueryEscape(s.pw),
		url.PathEscape(s.pw),
		strings.TrimPrefix(url.UserPassword("", s.pw).String(), ":"),
	}
}

// managedRedis is a TLS-only redis-server with a certificate from ca for
// 127.0.0.1 and localhost, requirepass defaultPW, and the ACL user alice.
type managedRedis struct {
	srv                *testenv.RedisServer
	ca                 *testenv.TestCA
	defaultPW, alicePW redisSecret
}

func startManagedRedis(t *testing.T) *managedRedis {
	t.Helper()
	m := &managedRedis{ca: testenv.NewTestCA(t), defaultPW: newRedisSecret(), alicePW: newRedisSecret()}
	cert, key := m.ca.Issue(t, "127.0.0.1", "localhost")
	m.srv = testenv.StartRedisServerWith(t, testenv.RedisServerOptions{
		TLS: &testenv.RedisTLS{CertFile: cert, KeyFile: key, CA: m.ca},
		Args: []string{"--requirepass", m.defaultPW.pw,
			"--user", "alice", "on", ">" + m.alicePW.pw, "~*", "&*", "+@all"},
	})
	return m
}

// url is scheme://user:password@127.0.0.1:port/0, the password
// percent-encoded as REDIS_URL carries it ("" user: password only).
func (m *managedRedis) url(scheme, user string, pw redisSecret) string {
	u := url.URL{Scheme: scheme, User: url.UserPassword(user, pw.pw), Host: "127.0.0.1:" + strconv.Itoa(m.srv.Port()), Path: "/0"}
	return u.String()
}

// sessionKeys lists the app's session keys in the server, as alice.
func (m *managedRedis) sessionKeys(t *testing.T) []string {
	t.Helper()
	conn, err := redis.DialURL(m.url("rediss", "alice", m.alicePW),
		redis.DialTLSConfig(&tls.Config{RootCAs: m.ca.Pool}), redis.DialConnectTimeout(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return testenv.RedisKeys(t, conn, "sessionlab:session:")
}

// httpsApp is the real program serving HTTPS on 127.0.0.1, and one
// browser (cookie jar, no automatic redirects) talking to it. Every
// response, and the whole log once the program has stopped, is checked
// for the secrets.
type httpsApp struct {
	t       *testing.T
	base    string
	client  *http.Client
	logs    *testenv.SyncBuffer
	stop    func() error
	secrets []redisSecret
	csrf    string
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// startHTTPS runs the program with env over a fresh SQLite file (or
// DATABASE_URL in env) and TLS_CERT/TLS_KEY for 127.0.0.1, and waits
// until /healthz answers. jar, when not nil, is the browser's cookie jar.
func startHTTPS(t *testing.T, env map[string]string, jar http.CookieJar, secrets ...redisSecret) *httpsApp {
	t.Helper()
	certFile, keyFile, roots := writeLocalhostCert(t)
	vars := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
		"LOG_FORMAT":   "json",
		"BCRYPT_COST":  "10",
		// Workers of this -race test binary at the server's priority: at nice
		// 10 they start and hash too slowly while other packages load the CPUs
		// (TestBinary_BcryptRuns... checks the niceness, on the built binary).
		"BCRYPT_NICE": "0",
		"TLS_CERT":    certFile,
		"TLS_KEY":     keyFile,
	}
	for k, v := range env {
		vars[k] = v
	}
	if jar == nil {
		jar, _ = cookiejar.New(nil)
	}
	a := &httpsApp{t: t, logs: &testenv.SyncBuffer{}, secrets: secrets, client: &http.Client{
		Timeout:       10 * time.Second,
		Jar:           jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"web"}, func(k string) string { return vars[k] }, a.logs, a.logs) }()
	var once sync.Once
	var runErr error
	a.stop = func() error {
		once.Do(func() {
			cancel()
			a.client.CloseIdleConnections()
			select {
			case runErr = <-done:
			case <-time.After(20 * time.Second):
				runErr = fmt.Errorf("run did not return within 20s of cancellation")
			}
			a.checkSecrets("the log", a.logs.String())
			if runErr != nil {
				a.checkSecrets("run's error", runErr.Error())
			}
		})
		return runErr
	}
	t.Cleanup(func() {
		if err := a.stop(); err != nil {
			t.Errorf("run: %v", err)
		}
	})

	a.base = "https://" + waitListening(t, a.logs, done) // logged once the listener is open
	res, err := a.client.Get(a.base + "/healthz")
	if err != nil {
		t.Fatalf("https /healthz: %v\n%s", err, a.logs.String())
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("https /healthz: %d, want 200\n%s", res.StatusCode, a.logs.String())
	}
	return a
}

// checkSecrets fails the test if text holds any form of a secret.
func (a *httpsApp) checkSecrets(where, text string) {
	a.t.Helper()
	for _, s := range a.secrets {
		for _, f := range s.forms() {
			if strings.Contains(text, f) {
				a.t.Errorf("%s contains a Redis password (as %q)", where, f)
				break
			}
		}
	}
}

// do sends req and returns the status and body, after checking the body
// and every header for the secrets and noting the page's CSRF token.
func (a *httpsApp) do(req *http.Request) (int, string) {
	a.t.Helper()
	res, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		a.t.Fatal(err)
	}
	what := req.Method + " " + req.URL.Path
	a.checkSecrets("the body of "+what, string(b))
	for name, values := range res.Header {
		a.checkSecrets("the "+name+" header of "+what, strings.Join(values, "\n"))
	}
	if m := csrfField.FindStringSubmatch(string(b)); m != nil {
		a.csrf = m[1]
	}
	return res.StatusCode, string(b)
}

func (a *httpsApp) get(path string) (int, string) {
	a.t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.base+path, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.do(req)
}

// post sends form with the last CSRF token seen.
func (a *httpsApp) post(path string, form url.Values) (int, string) {
	a.t.Helper()
	form.Set("csrf_token", a.csrf)
	req, err := http.NewRequest(http.MethodPost, a.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return a.do(req)
}

// mustStatus checks that GET path answers want.
func (a *httpsApp) mustStatus(path string, want int) string {
	a.t.Helper()
	got, body := a.get(path)
	if got != want {
		a.t.Fatalf("GET %s: %d, want %d\n%s\nlog:\n%s", path, got, want, body, a.logs.String())
	}
	return body
}

// signUpAndIn creates an account through the forms, signs out, and signs
// in again, each step checked as a visitor sees it.
func (a *httpsApp) signUpAndIn() (email, password string) {
	a.t.Helper()
	email, password = testenv.NewUser()
	a.mustStatus("/signup", http.StatusOK)
	if got, body := a.post("/signup", url.Values{"email": {email}, "password": {password}}); got != http.StatusSeeOther {
		a.t.Fatalf("POST /signup: %d, want 303\n%s\nlog:\n%s", got, body, a.logs.String())
	}
	if body := a.mustStatus("/profile", http.StatusOK); !strings.Contains(body, email) {
		a.t.Fatalf("GET /profile after sign-up does not show %s", email)
	}
	if got, _ := a.post("/logout", url.Values{}); got != http.StatusSeeOther {
		a.t.Fatalf("POST /logout: %d, want 303", got)
	}
	if got, _ := a.get("/profile"); got != http.StatusSeeOther {
		a.t.Fatalf("GET /profile after logout: %d, want 303 to the login page", got)
	}
	a.mustStatus("/login", http.StatusOK)
	if got, body := a.post("/login", url.Values{"email": {email}, "password": {password}}); got != http.StatusSeeOther {
		a.t.Fatalf("POST /login: %d, want 303\n%s", got, body)
	}
	if body := a.mustStatus("/profile", http.StatusOK); !strings.Contains(body, email) {
		a.t.Fatalf("GET /profile after sign-in does not show %s", email)
	}
	return email, password
}

// REDIS_URL=rediss://user:password@… with REDIS_CA_FILE: the program is
// ready, a visitor signs up, out and in, and the sessions are in that
// Redis; the same with a password only (requirepass). No password shows.
func TestRun_ManagedRedisOverTLSWithPassword(t *testing.T) {
	m := startManagedRedis(t)
	for _, tt := range []struct {
		name, user string
		pw         redisSecret
	}{
		{"ACL user", "alice", m.alicePW},
		{"password only", "", m.defaultPW},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := startHTTPS(t, map[string]string{
				"REDIS_URL":     m.url("rediss", tt.user, tt.pw),
				"REDIS_CA_FILE": m.ca.CertFile,
			}, nil, m.alicePW, m.defaultPW)
			before := len(m.sessionKeys(t))
			a.mustStatus("/readyz", http.StatusOK)
			a.signUpAndIn()
			if after := len(m.sessionKeys(t)); after <= before {
				t.Errorf("session keys in the managed Redis: %d before signing in, %d after; want more", before, after)
			}
			if err := a.stop(); err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
}

// Every way of getting the trust or the password wrong leaves the program
// up but not ready (503), and the reason, not the password, in the log.
func TestRun_ManagedRedisRefusedMeansNotReady(t *testing.T) {
	m := startManagedRedis(t)
	other := testenv.NewTestCA(t)
	wrong := newRedisSecret()
	for _, tt := range []struct {
		name string
		env  map[string]string
	}{
		{"plain redis:// on the TLS port", map[string]string{"REDIS_URL": m.url("redis", "alice", m.alicePW)}},
		{"server certificate from another CA", map[string]string{
			"REDIS_URL": m.url("rediss", "alice", m.alicePW), "REDIS_CA_FILE": other.CertFile}},
		{"system roots only", map[string]string{"REDIS_URL": m.url("rediss", "alice", m.alicePW)}},
		{"wrong password", map[string]string{
			"REDIS_URL": m.url("rediss", "alice", wrong), "REDIS_CA_FILE": m.ca.CertFile}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := startHTTPS(t, tt.env, nil, m.alicePW, m.defaultPW, wrong)
			a.mustStatus("/readyz", http.StatusServiceUnavailable)
			if !strings.Contains(a.logs.String(), `"msg":"not ready"`) {
				t.Errorf("no \"not ready\" line in the log:\n%s", a.logs.String())
			}
			if err := a.stop(); err != nil {
				t.Errorf("run: %v", err)
			}
		})
	}
}

// A wrong Redis password (rotated on the server, not yet in REDIS_URL):
// a signed-in visitor and one signing in get the 503 page, /readyz is
// 503, and neither password appears in a log line, a page or a header.
func TestRun_WrongRedisPasswordIs503AndNeverShown(t *testing.T) {
	m := startManagedRedis(t)
	wrong := newRedisSecret()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "app.db")
	jar, _ := cookiejar.New(nil) // one browser, across both runs

	good := startHTTPS(t, map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": m.url("rediss", "alice", m.alicePW), "REDIS_CA_FILE": m.ca.CertFile,
	}, jar, m.alicePW, m.defaultPW, wrong)
	email, password := good.signUpAndIn()
	if err := good.stop(); err != nil {
		t.Fatalf("run: %v", err)
	}

	bad := startHTTPS(t, map[string]string{
		"DATABASE_URL": dbURL, "REDIS_URL": m.url("rediss", "alice", wrong), "REDIS_CA_FILE": m.ca.CertFile,
	}, jar, m.alicePW, m.defaultPW, wrong)
	bad.mustStatus("/readyz", http.StatusServiceUnavailable)
	// Signed in (the session cookie from the first run): the session
	// cannot be read, so the page is refused, not shown as anonymous.
	if body := bad.mustStatus("/profile", http.StatusServiceUnavailable); !strings.Contains(body, "temporarily unavailable") {
		t.Errorf("GET /profile: not the 503 page:\n%s", body)
	}
	// Signing in: the login form is anonymous; its POST needs the store.
	fresh, _ := cookiejar.New(nil)
	bad.client.Jar = fresh
	bad.mustStatus("/login", http.StatusOK)
	got, body := bad.post("/login", url.Values{"email": {email}, "password": {password}})
	if got != http.StatusServiceUnavailable || !strings.Contains(body, "temporarily unavailable") {
		t.Errorf("POST /login: %d, want the 503 page\n%s", got, body)
	}
	if err := bad.stop(); err != nil {
		t.Errorf("run: %v", err)
	}
	if !strings.Contains(bad.logs.String(), "WRONGPASS") {
		t.Errorf("the log does not say why Redis refused:\n%s", bad.logs.String())
	}
}

// REDIS_CA_FILE that cannot be read, or holds no certificate, stops the
// program at start with an error naming it; with a redis:// URL it is
// refused as a configuration error, without the URL's password.
func TestRun_RedisCAFileMustHoldACertificate(t *testing.T) {
	pw := newRedisSecret()
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ca := testenv.NewTestCA(t)
	rediss := (&url.URL{Scheme: "rediss", User: url.UserPassword("alice", pw.pw), Host: "127.0.0.1:1", Path: "/0"}).String()
	plain := (&url.URL{Scheme: "redis", User: url.UserPassword("alice", pw.pw), Host: "127.0.0.1:1", Path: "/0"}).String()
	for _, tt := range []struct {
		name, url, caFile, want string
	}{
		{"missing file", rediss, filepath.Join(dir, "missing.pem"), "REDIS_CA_FILE"},
		{"no certificate in it", rediss, junk, "REDIS_CA_FILE"},
		{"with redis://", plain, ca.CertFile, "REDIS_CA_FILE is set but REDIS_URL is not a rediss:// URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{
				"DATABASE_URL":  "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
				"REDIS_URL":     tt.url,
				"REDIS_CA_FILE": tt.caFile,
				"ADDR":          "127.0.0.1:0",
			}
			var out testenv.SyncBuffer
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, []string{"web"}, func(k string) string { return env[k] }, &out, &out)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("run: error %v, want one containing %q", err, tt.want)
			}
			for _, f := range pw.forms() {
				if strings.Contains(err.Error()+out.String(), f) {
					t.Errorf("the error or the log holds the password: %v\n%s", err, out.String())
				}
			}
		})
	}
}
