//go:build stack

// The stack test runs docker-compose.yml's topology as processes, since no
// container engine runs here: a redis-server with append-only persistence,
// a fresh database on the machine's PostgreSQL, two app processes built
// like the Dockerfile builds them (static, CGO_ENABLED=0), with the
// environment the compose file gives the replicas, and Caddy running the
// repo's deploy/Caddyfile. Clients talk to Caddy over TLS from their own
// loopback addresses (127.0.0.x), as browsers on different machines would.
//
// Which replica served a request: each response carries the app's
// X-Request-Id, and each replica runs with LOG_LEVEL=debug, which logs every
// request with its id; the test finds the id in one replica's log.
//
// Run with `make stack` (go test -tags stack ./deploy).
package deploy

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

const (
	sessionCookie = "__Host-session"
	caddyAddr     = "127.0.0.1" // where Caddy connects to the replicas from: their TRUSTED_PROXIES
)

// proc is one process of the stack.
type proc struct {
	name string
	cmd  *exec.Cmd
	logs *testenv.SyncBuffer
	done chan struct{}
	err  error // set once done is closed
}

func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, logs: &testenv.SyncBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("--- %s log (last 4 KiB) ---\n%s", name, tail(p.logs.String(), 4<<10))
		}
	})
	return p
}

// stop sends SIGTERM and waits for the process to exit.
func (p *proc) stop(t *testing.T, within time.Duration) error {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(within):
		t.Fatalf("%s still running %s after SIGTERM", p.name, within)
		return nil
	}
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

type stack struct {
	t         *testing.T
	dir       string
	bin       string
	base      string // https://localhost:PORT, Caddy
	httpsPort int
	roots     *x509.CertPool

	redisPort int
	redisPass string
	redis     *proc

	apps     [2]*proc
	appAddrs [2]string
	caddy    *proc
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func need(t *testing.T, bin string) string {
	t.Helper()
	path, err := exec.LookPath(bin)
	if err != nil {
		testenv.Unavailable(t, bin, err)
	}
	return path
}

func startStack(t *testing.T) *stack {
	t.Helper()
	s := &stack{t: t, dir: t.TempDir(), redisPass: "stack-" + randomHex(12)}
	need(t, "redis-server")
	need(t, "caddy")

	// The Dockerfile's build.
	s.bin = filepath.Join(s.dir, "sessionlab")
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", s.bin, "./cmd/web")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("static build: %v\n%s", err, out)
	}

	s.redisPort = testenv.FreePort(t)
	s.startRedis()

	dbURL := freshDatabase(t)
	project, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	for i, name := range []string{"app1", "app2"} {
		env := serviceEnv(t, project, name)
		s.appAddrs[i] = "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
		// The compose file's settings, with this machine's addresses.
		env["ADDR"] = s.appAddrs[i]
		env["DATABASE_URL"] = dbURL
		env["REDIS_URL"] = fmt.Sprintf("redis://:%s@127.0.0.1:%d/0", s.redisPass, s.redisPort)
		env["TRUSTED_PROXIES"] = caddyAddr
		env["LOG_LEVEL"] = "debug" // one line per request: which replica served it
		env["BCRYPT_COST"] = "10"  // the minimum the app accepts: fast sign-ups
		env["HOME"] = s.dir
		var list []string
		for k, v := range env {
			list = append(list, k+"="+v)
		}
		s.apps[i] = startProc(t, name, list, s.bin)
	}
	for i := range s.apps {
		waitHTTP(t, "http://"+s.appAddrs[i]+"/readyz", nil)
	}

	s.httpsPort = testenv.FreePort(t)
	data := filepath.Join(s.dir, "caddy")
	s.caddy = startProc(t, "caddy", []string{
		"HOME=" + s.dir,
		"XDG_DATA_HOME=" + data,
		"XDG_CONFIG_HOME=" + data,
		"CADDY_ADMIN=127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)),
		"HTTP_PORT=" + strconv.Itoa(testenv.FreePort(t)),
		"HTTPS_PORT=" + strconv.Itoa(s.httpsPort),
		"SITE_ADDRESS=localhost",
		"UPSTREAM_1=" + s.appAddrs[0],
		"UPSTREAM_2=" + s.appAddrs[1],
	}, "caddy", "run", "--config", caddyfile, "--adapter", "caddyfile")
	s.base = "https://localhost:" + strconv.Itoa(s.httpsPort)

	// Caddy's local CA signs the site's certificate: the clients trust it
	// and nothing else.
	rootFile := filepath.Join(data, "caddy", "pki", "authorities", "local", "root.crt")
	deadline := time.Now().Add(20 * time.Second)
	for {
		pem, err := os.ReadFile(rootFile)
		if err == nil {
			s.roots = x509.NewCertPool()
			if s.roots.AppendCertsFromPEM(pem) {
				break
			}
		}
		if time.Now().After(deadline) || s.caddy.exited() {
			t.Fatalf("caddy made no root certificate at %s", rootFile)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitHTTP(t, s.base+"/readyz", s.client("127.0.0.2"))
	return s
}

func (s *stack) startRedis() {
	s.t.Helper()
	// As in docker-compose.yml: append-only, fsync every second, a password.
	s.redis = startProc(s.t, "redis", nil, "redis-server",
		"--bind", "127.0.0.1", "--port", strconv.Itoa(s.redisPort), "--dir", s.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "",
		"--requirepass", s.redisPass)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(s.redisPort))
		if err == nil {
			fmt.Fprintf(c, "AUTH %s\r\nPING\r\n", s.redisPass)
			buf := make([]byte, 64)
			c.SetReadDeadline(time.Now().Add(time.Second))
			n, _ := io.ReadAtLeast(c, buf, len("+OK\r\n+PONG\r\n"))
			c.Close()
			if strings.Contains(string(buf[:n]), "PONG") {
				return
			}
		}
		if time.Now().After(deadline) || s.redis.exited() {
			s.t.Fatalf("redis-server did not come up: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// freshDatabase creates a database of its own on the machine's PostgreSQL,
// dropped when the test ends.
func freshDatabase(t *testing.T) string {
	t.Helper()
	admin := os.Getenv("TEST_DATABASE_URL")
	if admin == "" {
		admin = testenv.DefaultPostgresURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	db, err := database.Open(ctx, database.DialectPostgres, admin)
	if err != nil {
		testenv.Unavailable(t, "PostgreSQL", err)
	}
	name := "sessionlab_stack_" + randomHex(6)
	if _, err := db.SQL.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		db.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		defer db.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if _, err := db.SQL.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u, _ := url.Parse(admin)
	u.Path = "/" + name
	return u.String()
}

// client is a browser on the machine with address ip: its own cookies, its
// own source address, Caddy's CA as its only root, and no redirects
// followed (the test reads them).
func (s *stack) client(ip string) *http.Client {
	jar, _ := cookiejar.New(nil)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	caddy := "127.0.0.1:" + strconv.Itoa(s.httpsPort)
	return &http.Client{
		Jar: jar,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return d.DialContext(ctx, "tcp", caddy)
			},
			TLSClientConfig: &tls.Config{RootCAs: s.roots, ServerName: "localhost"},
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       20 * time.Second,
	}
}

func waitHTTP(t *testing.T, u string, c *http.Client) {
	t.Helper()
	if c == nil {
		c = http.DefaultClient
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := c.Get(u)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return
			}
			err = errors.New(res.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready within 20s: %v", u, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// page is one answer as the test reads it.
type page struct {
	status   int
	location string
	body     string
	id       string // X-Request-Id
}

func (s *stack) do(c *http.Client, method, path string, form url.Values) (page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, s.base+path, body)
	if err != nil {
		return page{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", s.base) // as a browser sends it
	}
	res, err := c.Do(req)
	if err != nil {
		return page{}, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return page{}, err
	}
	return page{status: res.StatusCode, location: res.Header.Get("Location"), body: string(b), id: res.Header.Get("X-Request-Id")}, nil
}

func (s *stack) get(c *http.Client, path string) page {
	s.t.Helper()
	p, err := s.do(c, http.MethodGet, path, nil)
	if err != nil {
		s.t.Fatalf("GET %s: %v", path, err)
	}
	return p
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// submit fetches formPage for its CSRF token, then posts form to action.
func (s *stack) submit(c *http.Client, formPage, action string, form url.Values) page {
	s.t.Helper()
	p := s.get(c, formPage)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		s.t.Fatalf("no CSRF token on %s (%d)", formPage, p.status)
	}
	form.Set("csrf_token", m[1])
	res, err := s.do(c, http.MethodPost, action, form)
	if err != nil {
		s.t.Fatalf("POST %s: %v", action, err)
	}
	return res
}

func (s *stack) signUp(c *http.Client, email, password string) {
	s.t.Helper()
	if p := s.submit(c, "/signup", "/signup", url.Values{"email": {email}, "password": {password}}); p.status != http.StatusSeeOther {
		s.t.Fatalf("sign up %s: %d", email, p.status)
	}
}

func (s *stack) logIn(c *http.Client, email, password string) page {
	s.t.Helper()
	p := s.submit(c, "/login", "/login", url.Values{"email": {email}, "password": {password}})
	if p.status != http.StatusSeeOther {
		s.t.Fatalf("log in %s: %d", email, p.status)
	}
	return p
}

// signedInAs reports whether the page is the profile of email.
func signedInAs(p page, email string) bool {
	return p.status == http.StatusOK && strings.Contains(p.body, email)
}

// servedBy is the index of the replica whose log has the request's id.
func (s *stack) servedBy(p page) int {
	s.t.Helper()
	if p.id == "" {
		s.t.Fatalf("an answer without X-Request-Id (status %d): not from a replica", p.status)
	}
	needle := `"request_id":"` + p.id + `"`
	deadline := time.Now().Add(3 * time.Second)
	for {
		for i, app := range s.apps {
			if strings.Contains(app.logs.String(), needle) {
				return i
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("request %s is in neither replica's log", p.id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// onOther asks path with c until a replica other than first answers (round
// robin alternates), checking every answer with ok; it fails if the other
// replica never answers.
func (s *stack) onOther(c *http.Client, first int, path string, ok func(page) error) {
	s.t.Helper()
	for range 6 {
		p := s.get(c, path)
		by := s.servedBy(p)
		if err := ok(p); err != nil {
			s.t.Fatalf("GET %s on app%d: %v", path, by+1, err)
		}
		if by != first {
			return
		}
	}
	s.t.Fatalf("six requests and none reached the replica other than app%d", first+1)
}

func refused(email string) func(page) error {
	return func(p page) error {
		if signedInAs(p, email) {
			return errors.New("served the signed-in page")
		}
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
			return fmt.Errorf("answered %d %q, want a redirect to /login", p.status, p.location)
		}
		return nil
	}
}

func cookieValue(c *http.Client, base string) string {
	u, _ := url.Parse(base)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == sessionCookie {
			return ck.Value
		}
	}
	return ""
}

// withCookie is a new browser at ip holding a copy of a session cookie.
func (s *stack) withCookie(ip, value string) *http.Client {
	c := s.client(ip)
	u, _ := url.Parse(s.base)
	c.Jar.SetCookies(u, []*http.Cookie{{Name: sessionCookie, Value: value, Path: "/", Secure: true}})
	return c
}

var revokeRE = regexp.MustCompile(`(?s)<tr( class="current")?>.*?action="/sessions/([^"/]+)/revoke"`)

func TestStack(t *testing.T) {
	s := startStack(t)
	const password = "correct horse battery staple"
	alice := s.client("127.0.0.2")
	aliceEmail := "alice-" + randomHex(4) + "@example.com"

	t.Run("the binary is static", func(t *testing.T) {
		f, err := elf.Open(s.bin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				t.Fatal("the binary asks for a dynamic loader: it would not run in distroless/static")
			}
		}
		if libs, _ := f.ImportedLibraries(); len(libs) > 0 {
			t.Fatalf("the binary links %v", libs)
		}
	})

	t.Run("signed in through Caddy, served by both replicas", func(t *testing.T) {
		s.signUp(alice, aliceEmail, password)
		served := map[int]int{}
		for range 10 {
			p := s.get(alice, "/profile")
			if !signedInAs(p, aliceEmail) {
				t.Fatalf("GET /profile: %d, not alice's profile", p.status)
			}
			served[s.servedBy(p)]++
		}
		if served[0] == 0 || served[1] == 0 {
			t.Fatalf("requests per replica %v: want both", served)
		}
		t.Logf("10 profile views: app1 served %d, app2 served %d, all signed in", served[0], served[1])
	})

	t.Run("IP binding sees the client's address, not Caddy's", func(t *testing.T) {
		p := s.get(alice, "/profile")
		if !strings.Contains(p.body, "this request came from <code>127.0.0.2</code>") {
			t.Fatalf("the profile does not show the client address 127.0.0.2:\n%s", p.body)
		}
		carol := s.client("127.0.0.7")
		carolEmail := "carol-" + randomHex(4) + "@example.com"
		s.signUp(carol, carolEmail, password)
		// The same cookie from another address is refused under the
		// default (strict) binding: had the app seen Caddy's 127.0.0.1
		// for everyone, it would have been accepted.
		thief := s.withCookie("127.0.0.8", cookieValue(carol, s.base))
		if err := refused(carolEmail)(s.get(thief, "/profile")); err != nil {
			t.Fatalf("a copied cookie from 127.0.0.8: %v", err)
		}
		logs := s.apps[0].logs.String() + s.apps[1].logs.String()
		if !regexp.MustCompile(`"event":"ip.mismatch"[^\n]*"client_ip":"127.0.0.8"`).MatchString(logs) {
			t.Errorf("no ip.mismatch event naming 127.0.0.8 in the replicas' logs")
		}
		// 127.0.0.1 is Caddy's own health checks and this test's direct
		// readiness probes; no client's page may be logged from it.
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, `"client_ip":"127.0.0.1"`) &&
				!strings.Contains(line, `"path":"/healthz"`) && !strings.Contains(line, `"path":"/readyz"`) {
				t.Errorf("a replica logged Caddy's address as a client's: %s", line)
			}
		}
	})

	t.Run("revoked on one replica, refused on the other at once", func(t *testing.T) {
		phone := s.client("127.0.0.3")
		s.logIn(phone, aliceEmail, password)
		list := s.get(alice, "/sessions")
		var other string
		for _, m := range revokeRE.FindAllStringSubmatch(list.body, -1) {
			if m[1] == "" {
				other = m[2]
			}
		}
		if other == "" {
			t.Fatalf("the sessions page lists no other session:\n%s", list.body)
		}
		p := s.submit(alice, "/sessions", "/sessions/"+other+"/revoke", url.Values{})
		if p.status != http.StatusSeeOther {
			t.Fatalf("revoke: %d", p.status)
		}
		by := s.servedBy(p)
		s.onOther(phone, by, "/profile", refused(aliceEmail))
		t.Logf("revoked on app%d; the next request of the revoked session, on app%d, was refused", by+1, 2-by)
	})

	t.Run("logged out on one replica, a copied cookie refused on the other", func(t *testing.T) {
		laptop := s.client("127.0.0.4")
		s.logIn(laptop, aliceEmail, password)
		copied := s.withCookie("127.0.0.4", cookieValue(laptop, s.base))
		if p := s.get(copied, "/profile"); !signedInAs(p, aliceEmail) {
			t.Fatalf("the copied cookie does not work before logout (%d)", p.status)
		}
		p := s.submit(laptop, "/profile", "/logout", url.Values{})
		if p.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.status)
		}
		by := s.servedBy(p)
		s.onOther(copied, by, "/profile", refused(aliceEmail))
		t.Logf("logged out on app%d; the copied cookie was refused on app%d", by+1, 2-by)
	})

	t.Run("a password change on one replica ends the other sessions on the other", func(t *testing.T) {
		bobEmail := "bob-" + randomHex(4) + "@example.com"
		desk := s.client("127.0.0.5")
		s.signUp(desk, bobEmail, password)
		tablet := s.client("127.0.0.6")
		s.logIn(tablet, bobEmail, password)
		p := s.submit(desk, "/account/password", "/account/password", url.Values{
			"current_password": {password}, "new_password": {"a brand new passphrase"}, "sign_out_others": {"1"},
		})
		if p.status != http.StatusSeeOther {
			t.Fatalf("password change: %d", p.status)
		}
		by := s.servedBy(p)
		s.onOther(tablet, by, "/profile", refused(bobEmail))
		if p := s.get(desk, "/profile"); !signedInAs(p, bobEmail) {
			t.Errorf("the session that changed the password was signed out (%d)", p.status)
		}
		t.Logf("password changed on app%d; the tablet's session was refused on app%d", by+1, 2-by)
	})

	t.Run("sessions survive a Redis restart (append-only file)", func(t *testing.T) {
		if err := s.redis.stop(t, 10*time.Second); err != nil {
			t.Fatalf("redis-server exited with %v on SIGTERM", err)
		}
		// While Redis is down: a 503, never the signed-in page.
		if p := s.get(alice, "/profile"); p.status != http.StatusServiceUnavailable || signedInAs(p, aliceEmail) {
			t.Errorf("with Redis down: %d, want 503", p.status)
		}
		s.startRedis()
		waitHTTP(t, s.base+"/readyz", s.client("127.0.0.2"))
		served := map[int]bool{}
		for range 4 {
			p := s.get(alice, "/profile")
			if !signedInAs(p, aliceEmail) {
				t.Fatalf("after the restart: %d, alice is not signed in", p.status)
			}
			served[s.servedBy(p)] = true
		}
		if len(served) != 2 {
			t.Errorf("after the restart only app%v answered", served)
		}
	})

	t.Run("SIGTERM one replica under load: nothing fails, no session lost", func(t *testing.T) {
		type user struct {
			c     *http.Client
			email string
		}
		users := make([]user, 8)
		for i := range users {
			users[i] = user{s.client("127.0.1." + strconv.Itoa(i+1)), fmt.Sprintf("load%d-%s@example.com", i, randomHex(3))}
			s.signUp(users[i].c, users[i].email, password)
		}
		var (
			mu       sync.Mutex
			statuses = map[int]int{}
			failures []string
			total    int
		)
		stopLoad := make(chan struct{})
		var wg sync.WaitGroup
		for _, u := range users {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stopLoad:
						return
					default:
					}
					path := "/profile"
					if i%4 == 3 {
						path = "/sessions"
					}
					p, err := s.do(u.c, http.MethodGet, path, nil)
					mu.Lock()
					total++
					switch {
					case err != nil:
						failures = append(failures, path+": "+err.Error())
					case p.status != http.StatusOK || !strings.Contains(p.body, u.email):
						statuses[p.status]++
						failures = append(failures, fmt.Sprintf("%s: %d", path, p.status))
					default:
						statuses[p.status]++
					}
					mu.Unlock()
				}
			}()
		}
		time.Sleep(1500 * time.Millisecond)
		stopped := time.Now()
		err := s.apps[0].stop(t, 30*time.Second)
		took := time.Since(stopped)
		time.Sleep(1500 * time.Millisecond) // the survivor alone
		close(stopLoad)
		wg.Wait()

		if err != nil {
			t.Errorf("app1 exited with %v after SIGTERM, want a clean exit", err)
		}
		logs := s.apps[0].logs.String()
		for _, want := range []string{`"msg":"stopping: /healthz reports it; still serving"`, `"msg":"stopped"`} {
			if !strings.Contains(logs, want) {
				t.Errorf("app1's log lacks %s", want)
			}
		}
		if len(failures) > 0 {
			t.Errorf("%d of %d requests failed during the stop, e.g. %v", len(failures), total, failures[:min(5, len(failures))])
		}
		t.Logf("%d requests, statuses %v; app1 took %s to exit after SIGTERM", total, statuses, took.Round(100*time.Millisecond))

		// The survivor serves everyone, still signed in.
		for _, u := range append(users, user{alice, aliceEmail}) {
			p := s.get(u.c, "/profile")
			if !signedInAs(p, u.email) {
				t.Errorf("%s lost the session: %d", u.email, p.status)
				continue
			}
			if by := s.servedBy(p); by != 1 {
				t.Errorf("served by app%d after app1 stopped", by+1)
			}
		}
		// The Dockerfile's HEALTHCHECK tells the two apart.
		for i, want := range []bool{false, true} {
			cmd := exec.Command(s.bin, "healthcheck")
			cmd.Env = []string{"ADDR=" + s.appAddrs[i]}
			out, err := cmd.CombinedOutput()
			if (err == nil) != want {
				t.Errorf("healthcheck of app%d: %v (%s), want healthy=%v", i+1, err, out, want)
			}
		}
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
