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
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/gomodule/redigo/redis"
	"golang.org/x/crypto/bcrypt"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/redisdb"
	"github.com/sessionlab/sessionlab/internal/server"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

const cookieName = "__Host-session"

// backend is one way of storing sessions, with what a test needs to look
// inside it the way an attacker with a store dump would.
type backend struct {
	name string
	// open returns a fresh database and session store for one test.
	open func(t *testing.T) *storeEnv
}

type storeEnv struct {
	db    *database.DB
	store *session.Store
	// has reports whether the store holds a live entry for token.
	has func(t *testing.T, token string) bool
	// redisURL and prefix are set for the Redis backend.
	redisURL, prefix string
}

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) *storeEnv {
			return sqlStoreEnv(t, testenv.SQLite(t))
		}},
		{"redis", func(t *testing.T) *storeEnv {
			u := testenv.RedisURL(t)
			return redisStoreEnv(t, u, testenv.RedisPrefix(t, u))
		}},
		{"postgres", func(t *testing.T) *storeEnv {
			return sqlStoreEnv(t, testenv.Postgres(t))
		}},
	}
}

// redisStoreEnv keeps sessions in the Redis at u under prefix, users in SQLite.
func redisStoreEnv(t *testing.T, u, prefix string) *storeEnv {
	st := redisdb.NewSessionStore(redisdb.NewPool(u), prefix)
	t.Cleanup(func() { st.Close() })
	return &storeEnv{db: testenv.SQLite(t), store: st, redisURL: u, prefix: prefix,
		has: func(t *testing.T, token string) bool {
			conn := mustRedis(t, u)
			defer conn.Close()
			n, err := redis.Int(conn.Do("EXISTS", prefix+"session:"+session.StoreKey(token)))
			if err != nil {
				t.Fatal(err)
			}
			return n == 1
		}}
}

func sqlStoreEnv(t *testing.T, db *database.DB) *storeEnv {
	st, err := session.NewSQLStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &storeEnv{db: db, store: st, has: func(t *testing.T, token string) bool {
		// Live entries only, as the scs stores read them; expired rows are
		// deleted later by their cleanup.
		live := "julianday('now') < expiry"
		if db.Dialect == database.DialectPostgres {
			live = "current_timestamp < expiry"
		}
		var n int
		q := db.Rebind("SELECT count(*) FROM sessions WHERE token = ? AND " + live)
		if err := db.SQL.QueryRow(q, session.StoreKey(token)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}}
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
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b)
		})
	}
}

// testApp is the real handler behind a real TLS listener, with its log
// captured and every secret it handed out remembered.
type testApp struct {
	t   *testing.T
	ts  *httptest.Server
	env *storeEnv
	cfg config.Config

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
	return cfg
}

func newApp(t *testing.T, b backend, tweak ...func(*config.Config)) *testApp {
	t.Helper()
	a := &testApp{t: t, env: b.open(t), logs: &testenv.SyncBuffer{}, secrets: map[string]string{}, cfg: testConfig(t)}
	for _, f := range tweak {
		f(&a.cfg)
	}
	// Registered before the server's own cleanup, so it runs after the
	// server has stopped and its log is complete.
	t.Cleanup(a.checkNoSecretsLeaked)
	a.ts = httptest.NewTLSServer(a.handler(a.env.store))
	t.Cleanup(a.ts.Close)
	return a
}

// handler builds a server on the app's database with the given store.
func (a *testApp) handler(store *session.Store) http.Handler {
	a.t.Helper()
	h, err := server.NewServer(server.Deps{
		Config: a.cfg,
		Logger: slog.New(slog.NewTextHandler(a.logs, nil)),
		DB:     a.env.db,
		Store:  store,
	})
	if err != nil {
		a.t.Fatal(err)
	}
	return h
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
