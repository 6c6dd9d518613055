package server_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/gomodule/redigo/redis"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/assembly"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

const cookieName = "__Host-session"

// backend is one way of storing sessions, with what a test needs to look
// inside it the way an attacker with a store dump would.
type backend struct {
	name string
	// open returns where a fresh database and session store for one test
	// are; the app opens them (assembly.New).
	open func(t *testing.T) *storeEnv
}

// storeEnv is where one test app keeps its users and sessions: the
// DATABASE_URL and, for the Redis backend, the REDIS_URL and the namespace
// of its keys. db is the first app instance's database, once it is built.
type storeEnv struct {
	databaseURL      string
	redisURL, prefix string

	db *database.DB
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) *storeEnv {
			return sqlStoreEnv(t, sqliteURL(t))
		}},
		{"redis", func(t *testing.T) *storeEnv {
			u := testenv.RedisURL(t)
			return redisStoreEnv(t, u, testenv.RedisPrefix(t, u))
		}},
		{"postgres", func(t *testing.T) *storeEnv {
			return sqlStoreEnv(t, testenv.PostgresURL(t))
		}},
	}
}

// sqliteURL is a DATABASE_URL for a new SQLite file of t's own.
func sqliteURL(t *testing.T) string {
	return "sqlite:" + filepath.Join(t.TempDir(), "sessionlab.db")
}

// redisStoreEnv keeps sessions in the Redis at u under prefix, users in SQLite.
func redisStoreEnv(t *testing.T, u, prefix string) *storeEnv {
	return &storeEnv{databaseURL: sqliteURL(t), redisURL: u, prefix: prefix}
}

// sqlStoreEnv keeps users and sessions in the database at databaseURL.
func sqlStoreEnv(_ *testing.T, databaseURL string) *storeEnv {
	return &storeEnv{databaseURL: databaseURL}
}

// has reports whether the store holds a live entry for token.
func (e *storeEnv) has(t *testing.T, token string) bool {
	t.Helper()
	if e.redisURL != "" {
		conn := mustRedis(t, e.redisURL)
		defer conn.Close()
		n, err := redis.Int(conn.Do("EXISTS", e.prefix+"session:"+session.StoreKey(token)))
		if err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	// Live entries only, as the scs stores read them; expired rows are
	// deleted later by their cleanup.
	live := "julianday('now') < expiry"
	if e.db.Dialect == database.DialectPostgres {
		live = "current_timestamp < expiry"
	}
	var n int
	q := e.db.Rebind("SELECT count(*) FROM sessions WHERE token = ? AND " + live)
	if err := e.db.SQL.QueryRow(q, session.StoreKey(token)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n == 1
}

func mustRedis(t *testing.T, u string) redis.Conn {
	t.Helper()
	conn, err := redis.DialURL(u)
	if err != nil {
		t.Fatal(err)
	}
	return conn
}

// eachBackend runs fn once per session store, in parallel.
func eachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	// Each test has its own stores (a SQLite file, a PostgreSQL schema, a
	// Redis prefix), so the tests run side by side too, not only their
	// backends.
	t.Parallel()
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// testApp is the app as assembly.New builds it behind a real TLS
// listener, with its log captured and every secret it handed out
// remembered.
type testApp struct {
	t    *testing.T
	ts   *httptest.Server
	env  *storeEnv
	cfg  config.Config
	base []assembly.Option // what every instance of this app is built with

	logs    *testenv.SyncBuffer
	mu      sync.Mutex
	secrets map[string]string // secret value → what it is
}

// testConfig is the default configuration with a fast bcrypt cost.
func testConfig(t *testing.T) config.Config {
	t.Helper()
	cfg, err := config.Load(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.BcryptCost = bcrypt.MinCost
	// bcrypt in this process: a test binary is no worker (cmd/web's tests and
	// the built binary's run it in worker processes, the default).
	cfg.BcryptWorkers = config.BcryptInThreads
	return cfg
}

// newApp starts the app on b with the configuration adjusted by tweak.
// Its login and sign-up throttling counts stay in this process's memory,
// even on Redis, so that Redis holds only what sessions leave there (some
// tests count those keys); newDefendedApp keeps them where run does.
func newApp(t *testing.T, b backend, tweak ...func(*config.Config)) *testApp {
	t.Helper()
	return startApp(t, b, appOptions{config: tweak},
		assembly.Override(func(d *server.Deps) { d.RateLimitCounter = nil }))
}

func startApp(t *testing.T, b backend, opts appOptions, base ...assembly.Option) *testApp {
	t.Helper()
	a := &testApp{t: t, env: b.open(t), logs: &testenv.SyncBuffer{}, secrets: map[string]string{}, cfg: testConfig(t), base: base}
	a.cfg.DatabaseURL, a.cfg.RedisURL = a.env.databaseURL, a.env.redisURL
	for _, f := range opts.config {
		f(&a.cfg)
	}
	// Registered before the server's own cleanup, so it runs after the
	// server has stopped and its log is complete.
	t.Cleanup(a.checkNoSecretsLeaked)
	first := a.build(a.cfg, opts)
	a.env.db = first.DB
	a.ts = httptest.NewTLSServer(a.routed(first.Handler, opts))
	t.Cleanup(a.ts.Close)
	return a
}

// build is one more instance of the app, with cfg, over the same database
// and Redis namespace as the others (and so their sessions and throttling
// counts), logging to the same log; closed when the test ends.
func (a *testApp) build(cfg config.Config, opts appOptions) *assembly.App {
	a.t.Helper()
	o := append([]assembly.Option{}, a.base...)
	if a.env.prefix != "" {
		o = append(o, assembly.RedisNamespace(a.env.prefix))
	}
	if opts.deps != nil {
		o = append(o, assembly.Override(opts.deps))
	}
	built, err := assembly.New(a.t.Context(), cfg, slog.New(slog.NewTextHandler(a.logs, nil)), o...)
	if err != nil {
		a.t.Fatal(err)
	}
	a.t.Cleanup(func() {
		if err := built.Close(); err != nil {
			a.t.Errorf("close the app: %v", err)
		}
	})
	return built
}

// routed adds opts.routes to the server h.
func (a *testApp) routed(h http.Handler, opts appOptions) http.Handler {
	a.t.Helper()
	if opts.routes != nil {
		mux, ok := h.(*chi.Mux)
		if !ok {
			a.t.Fatalf("NewServer returned a %T, not the *chi.Mux these tests add routes to", h)
		}
		opts.routes(mux)
	}
	return h
}

// handler is the handler of one more instance of the app (see build),
// with opts added to what the app was started with.
func (a *testApp) handler(opts appOptions) http.Handler {
	a.t.Helper()
	cfg := a.cfg
	for _, f := range opts.config {
		f(&cfg)
	}
	return a.routed(a.build(cfg, opts).Handler, opts)
}

func (a *testApp) remember(secret, what string) {
	if secret == "" {
		return
	}
	a.mu.Lock()
	a.secrets[secret] = what
	a.mu.Unlock()
}

// checkLeaks fails the test if text holds a session token or password.
func (a *testApp) checkLeaks(where, text string) {
	a.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	for s, what := range a.secrets {
		if strings.Contains(text, s) {
			a.t.Errorf("%s contains a %s", where, what)
		}
	}
}

// checkNoSecretsLeaked: no token or password in the log, and no Redis key
// holding a raw token.
func (a *testApp) checkNoSecretsLeaked() {
	a.checkLeaks("the server log", a.logs.String())
	if a.env.redisURL == "" {
		return
	}
	conn := mustRedis(a.t, a.env.redisURL)
	defer conn.Close()
	keys := testenv.RedisKeys(a.t, conn, a.env.prefix)
	a.checkLeaks("a Redis key", strings.Join(keys, "\n"))
}

// client is one browser: its own cookie jar, no automatic redirects.
type client struct {
	t    *testing.T
	app  *testApp
	hc   *http.Client
	base *url.URL
	csrf string // the last CSRF token seen in a page
}

func (a *testApp) newClient() *client {
	jar, _ := cookiejar.New(nil)
	hc := *a.ts.Client() // a copy: each client has its own jar
	hc.Jar = jar
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	u, _ := url.Parse(a.ts.URL)
	return &client{t: a.t, app: a, hc: &hc, base: u}
}

type response struct {
	status    int
	header    http.Header
	body      string
	setCookie []*http.Cookie // parsed Set-Cookie lines for the session cookie
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (c *client) do(req *http.Request) *response {
	c.t.Helper()
	if tok := c.token(); tok != "" {
		c.app.remember(tok, "session token")
	}
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	r := &response{status: res.StatusCode, header: res.Header, body: string(body)}
	for _, line := range res.Header.Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil {
			c.t.Fatalf("unparsable Set-Cookie %q: %v", line, err)
		}
		if ck.Name == cookieName {
			r.setCookie = append(r.setCookie, ck)
			c.app.remember(ck.Value, "session token")
		}
	}
	// SECURITY check on every response: the token lives only in the cookie.
	c.app.checkLeaks(fmt.Sprintf("the body of %s %s", req.Method, req.URL.Path), r.body)
	c.app.checkLeaks(fmt.Sprintf("the Location of %s %s", req.Method, req.URL.Path), res.Header.Get("Location"))
	if m := csrfRE.FindStringSubmatch(r.body); m != nil {
		c.csrf = m[1]
	}
	return r
}

func (c *client) get(path string) *response {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.app.ts.URL+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.do(req)
}

// post sends form, adding the last CSRF token seen unless form sets one.
func (c *client) post(path string, form url.Values, headers ...string) *response {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok {
		form.Set("csrf_token", c.csrf)
	}
	for _, k := range []string{"password", "new_password", "current_password"} {
		c.app.remember(form.Get(k), "password")
	}
	req, err := http.NewRequest(http.MethodPost, c.app.ts.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return c.do(req)
}

// token is the session cookie's value in the jar ("" when none).
func (c *client) token() string {
	for _, ck := range c.hc.Jar.Cookies(c.base) {
		if ck.Name == cookieName {
			return ck.Value
		}
	}
	return ""
}

// setToken puts value in the jar as the session cookie, as an attacker
// who planted or stole it would.
func (c *client) setToken(value string) {
	c.app.remember(value, "session token")
	c.hc.Jar.SetCookies(c.base, []*http.Cookie{{Name: cookieName, Value: value, Path: "/", Secure: true}})
}

// signup creates an account through the form and expects to be signed in.
func (c *client) signup(email, password string) {
	c.t.Helper()
	c.get("/signup")
	r := c.post("/signup", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
		c.t.Fatalf("signup: got %d → %q, want 303 → /profile\n%s", r.status, r.header.Get("Location"), r.body)
	}
	c.get("/profile") // follow the redirect, as a browser would
}

// login signs in through the form and expects to succeed.
func (c *client) login(email, password string) {
	c.t.Helper()
	c.get("/login")
	r := c.post("/login", url.Values{"email": {email}, "password": {password}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/profile" {
		c.t.Fatalf("login: got %d → %q, want 303 → /profile\n%s", r.status, r.header.Get("Location"), r.body)
	}
	c.get("/profile") // follow the redirect, as a browser would
}

// mustBeSignedIn and mustBeAnonymous observe /profile as a visitor would.
func (c *client) mustBeSignedIn(email string) {
	c.t.Helper()
	r := c.get("/profile")
	if r.status != http.StatusOK || !strings.Contains(r.body, email) {
		c.t.Fatalf("GET /profile: got %d → %q, want 200 showing %s", r.status, r.header.Get("Location"), email)
	}
}

func (c *client) mustBeAnonymous() {
	c.t.Helper()
	r := c.get("/profile")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/login?next=/profile" {
		c.t.Fatalf("GET /profile: got %d → %q, want 303 → /login?next=/profile", r.status, r.header.Get("Location"))
	}
}

func mustPrefixes(t *testing.T, cidrs ...string) []netip.Prefix {
	t.Helper()
	var ps []netip.Prefix
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(c)
		if err != nil {
			t.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

var (
	newUser     = testenv.NewUser
	randomToken = testenv.MadeUpToken
)
