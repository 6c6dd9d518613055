// Command bench measures Session Lab's signed-in request side by side with
// (a) a bare chi page rendering the same profile template with no session
// and (b) the textbook setup — chi + scs + the stock redisstore, a login
// that calls RenewToken, a profile page — against (c) Session Lab's own
// signed-in GET /profile on Redis with IP binding strict.
//
// Each variant runs as its own process (so its peak RSS is its own), on a
// private redis-server that this command starts and stops, so the Redis
// command counts are those of one variant. The load comes from vegeta
// (github.com/tsenart/vegeta/v12) used as a library: closed-loop, as many
// requests as N connections carry, in interleaved rounds so machine noise
// is shared. Run from the repository root: `make bench`.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/v2"
	"github.com/go-chi/chi/v5"
	"github.com/gomodule/redigo/redis"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/sessionlab/sessionlab/web"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "soak" {
		if err := runSoak(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench soak:", err)
			os.Exit(1)
		}
		return
	}
	if len(os.Args) > 2 && os.Args[1] == "serve" {
		if err := serve(os.Args[2], os.Args[3:]); err != nil {
			fmt.Fprintln(os.Stderr, "bench serve:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one measurement")
	flag.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured load before each measurement")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved rounds")
	flag.StringVar(&o.conns, "conns", "32,128", "connection counts, comma-separated")
	flag.StringVar(&o.out, "out", "", "write the report (Markdown) to this file too")
	flag.StringVar(&o.only, "only", "", `"flood": only the login-flood measurement`)
	flag.BoolVar(&o.pin, "pin", true, "run the servers on the last CPU and the load generator and Redis on the others (needs taskset and 2+ CPUs)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

type options struct {
	duration, warmup time.Duration
	rounds           int
	conns            string
	out              string
	only             string
	pin              bool
}

// variant is one server under load.
type variant struct {
	name, label string
	url         string // the page measured
	cookie      string // "Cookie" header value, if signed in
	cmd         *exec.Cmd
}

// sample is one measurement of one variant.
type sample struct {
	round, conns int
	variant      string
	rps          float64
	p50, p99     time.Duration
	cmdsPerReq   float64
	errors       int
}

func run(o options) error {
	conns, err := parseInts(o.conns)
	if err != nil {
		return fmt.Errorf("-conns: %w", err)
	}
	dir, err := os.MkdirTemp("", "sessionlab-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	if o.pin {
		if err := pinSelf(); err != nil {
			return err
		}
	}
	rdb, stopRedis, err := startRedis(o, dir)
	if err != nil {
		return err
	}
	defer stopRedis()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	app := filepath.Join(dir, "sessionlab")
	fmt.Fprintln(os.Stderr, "bench: building the app")
	if out, err := exec.Command("go", "build", "-o", app, "./cmd/web").CombinedOutput(); err != nil {
		return fmt.Errorf("build the app (run from the repository root): %v\n%s", err, out)
	}

	appCmd := func(addr string) *exec.Cmd {
		c := exec.Command(app)
		c.Env = append(os.Environ(), "ADDR="+addr, "DATABASE_URL=sqlite:"+filepath.Join(dir, addr+".db"),
			"REDIS_URL="+rdb, "SESSION_IP_BINDING=strict", "BCRYPT_COST=10", "LOG_FORMAT=text",
			// The login flood (floodPhase) rotates client addresses in
			// X-Forwarded-For; nothing else sends that header.
			"TRUSTED_PROXIES=127.0.0.1/32")
		return c
	}
	if o.only != "" && o.only != "flood" {
		return fmt.Errorf("-only %q: want \"flood\" or nothing", o.only)
	}
	if o.only == "flood" {
		flood, err := floodPhases(o, appCmd, conns[0])
		if err != nil {
			return err
		}
		fmt.Print(flood)
		return nil
	}

	var vs []*variant
	defer func() {
		for _, v := range vs {
			stop(v.cmd)
		}
	}()
	for _, spec := range []struct {
		name, label string
		cmd         func(addr string) *exec.Cmd
		signIn      func(base string) (string, error)
	}{
		{"bare", "(a) bare chi page, same template, no session",
			func(addr string) *exec.Cmd { return exec.Command(self, "serve", "bare", addr) }, nil},
		{"textbook", "(b) chi + scs + stock redisstore",
			func(addr string) *exec.Cmd { return exec.Command(self, "serve", "textbook", addr, rdb) }, textbookSignIn},
		{"sessionlab", "(c) Session Lab /profile, Redis, IP binding strict", appCmd, appSignIn},
	} {
		addr, err := freeAddr()
		if err != nil {
			return err
		}
		v := &variant{name: spec.name, label: spec.label, url: "http://" + addr + "/profile", cmd: pin(o, serverCPU, spec.cmd(addr))}
		v.cmd.Stdout, v.cmd.Stderr = io.Discard, os.Stderr
		if err := v.cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", v.name, err)
		}
		vs = append(vs, v)
		base := "http://" + addr
		if err := waitUp(base); err != nil {
			return fmt.Errorf("%s: %w", v.name, err)
		}
		if spec.signIn != nil {
			if v.cookie, err = spec.signIn(base); err != nil {
				return fmt.Errorf("%s: sign in: %w", v.name, err)
			}
		}
		if err := checkPage(v); err != nil {
			return err
		}
	}

	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.DialURL(rdb) }}
	defer pool.Close()
	var samples []sample
	start := time.Now()
	rss := map[string]int64{} // "variant/conns" → peak RSS once that load has run
	for _, n := range conns {
		for round := 1; round <= o.rounds; round++ {
			for _, v := range vs {
				attack(v, n, o.warmup) // warm-up, not measured
				s, err := measure(pool, v, n, o.duration)
				if err != nil {
					return err
				}
				s.round = round
				samples = append(samples, s)
				fmt.Fprintf(os.Stderr, "bench: round %d, %3d conns, %-10s %8.0f req/s  p50 %v  p99 %v  %.2f Redis cmds/req\n",
					round, n, v.name, s.rps, s.p50.Round(10*time.Microsecond), s.p99.Round(10*time.Microsecond), s.cmdsPerReq)
			}
		}
		for _, v := range vs {
			rss[fmt.Sprintf("%s/%d", v.name, n)] = peakRSS(v.cmd.Process.Pid)
		}
	}
	flood, err := floodPhases(o, appCmd, conns[0])
	if err != nil {
		return err
	}
	report := render(o, vs, conns, samples, rss, time.Since(start)) + flood
	fmt.Print(report)
	if o.out != "" {
		if err := os.WriteFile(o.out, []byte(report), 0o644); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "bench: wrote", o.out)
	}
	return nil
}

// transports keeps one HTTP transport (and so one set of keep-alive
// connections) per variant and connection count across rounds: new
// connections for every measurement would leave the old ones open in the
// server, and its memory would grow with every round.
var transports = map[string]*http.Transport{}

// attack runs vegeta closed-loop: n workers on n keep-alive connections,
// each sending its next request when the last one is answered.
func attack(v *variant, n int, d time.Duration) *vegeta.Metrics {
	header := http.Header{}
	if v.cookie != "" {
		header.Set("Cookie", v.cookie)
	}
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: v.url, Header: header})
	id := fmt.Sprintf("%s/%d", v.name, n)
	t := transports[id]
	if t == nil {
		t = &http.Transport{MaxIdleConns: n, MaxIdleConnsPerHost: n, MaxConnsPerHost: n, IdleConnTimeout: time.Minute}
		transports[id] = t
	}
	at := vegeta.NewAttacker(vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)),
		vegeta.Client(&http.Client{Transport: t, Timeout: 10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}))
	var m vegeta.Metrics
	for res := range at.Attack(tr, vegeta.Rate{Freq: 0}, d, v.name) {
		m.Add(res)
	}
	m.Close()
	return &m
}

func measure(pool *redis.Pool, v *variant, n int, d time.Duration) (sample, error) {
	conn := pool.Get()
	defer conn.Close()
	if _, err := conn.Do("CONFIG", "RESETSTAT"); err != nil {
		return sample{}, err
	}
	m := attack(v, n, d)
	calls, err := redisCalls(conn)
	if err != nil {
		return sample{}, err
	}
	s := sample{conns: n, variant: v.name, rps: m.Throughput, p50: m.Latencies.P50, p99: m.Latencies.P99}
	if m.Requests > 0 {
		s.cmdsPerReq = float64(calls) / float64(m.Requests)
	}
	for code, k := range m.StatusCodes {
		if code != "200" {
			s.errors += k
		}
	}
	if s.errors > 0 {
		return s, fmt.Errorf("%s at %d conns: %d responses not 200: %v %v", v.name, n, s.errors, m.StatusCodes, m.Errors)
	}
	return s, nil
}

var cmdstatRE = regexp.MustCompile(`(?m)^cmdstat_([a-z|]+):calls=(\d+)`)

// redisCalls is the number of commands since CONFIG RESETSTAT, less the
// bench's own.
func redisCalls(conn redis.Conn) (int, error) {
	info, err := redis.String(conn.Do("INFO", "commandstats"))
	if err != nil {
		return 0, err
	}
	total := 0
	for _, m := range cmdstatRE.FindAllStringSubmatch(info, -1) {
		if m[1] == "info" || m[1] == "config|resetstat" {
			continue
		}
		k, _ := strconv.Atoi(m[2])
		total += k
	}
	return total, nil
}

// render writes the report: the machine, the command, every sample with
// its ratios to (a) and (b) in the same round, the medians, the targets.
func render(o options, vs []*variant, conns []int, samples []sample, rss map[string]int64, took time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Benchmarks\n\nGenerated by `make bench` (`go run ./cmd/bench %s`) on %s; the run took %s.\n\n",
		strings.Join(os.Args[1:], " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"), took.Round(time.Second))
	fmt.Fprintf(&b, "Machine: %s. Load: vegeta %s closed-loop, %d rounds of %v (after %v warm-up) per variant and connection count, interleaved.\n\n",
		machine(), "v12", o.rounds, o.duration, o.warmup)
	if o.pin {
		fmt.Fprintf(&b, "The servers run on CPU %s (each alone in its turn), the load generator and Redis on CPU %s (`taskset`), so the generator's own work does not run on the server's core.\n\n", serverCPU, loadCPUs)
	}
	b.WriteString("Variants (each its own process; (b) and (c) on one private redis-server, commands counted with `INFO commandstats`; one signed-in session per variant, shared by all connections):\n\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "- %s\n", v.label)
	}
	b.WriteString("\n| round | conns | variant | req/s | p50 | p99 | ÷ (a) | ÷ (b) | Redis cmds/req |\n|---|---|---|---|---|---|---|---|---|\n")
	find := func(round, n int, name string) sample {
		for _, s := range samples {
			if s.round == round && s.conns == n && s.variant == name {
				return s
			}
		}
		return sample{}
	}
	type key struct {
		n    int
		name string
	}
	ratiosA, ratiosB, p99s, cmds := map[key][]float64{}, map[key][]float64{}, map[key][]float64{}, map[key][]float64{}
	for _, s := range samples {
		a, bb := find(s.round, s.conns, "bare"), find(s.round, s.conns, "textbook")
		ra, rb := s.rps/a.rps, s.rps/bb.rps
		k := key{s.conns, s.variant}
		ratiosA[k], ratiosB[k] = append(ratiosA[k], ra), append(ratiosB[k], rb)
		p99s[k], cmds[k] = append(p99s[k], float64(s.p99)), append(cmds[k], s.cmdsPerReq)
		fmt.Fprintf(&b, "| %d | %d | %s | %.0f | %s | %s | %.2f | %.2f | %.2f |\n", s.round, s.conns, s.variant, s.rps,
			ms(s.p50), ms(s.p99), ra, rb, s.cmdsPerReq)
	}
	b.WriteString("\nMedians over the rounds (peak RSS: the process's VmHWM once the rounds at that connection count have run, so it includes every load before):\n\n| conns | variant | ÷ (a) | ÷ (b) | p99 | Redis cmds/req | peak RSS |\n|---|---|---|---|---|---|---|\n")
	for _, n := range conns {
		for _, v := range vs {
			k := key{n, v.name}
			fmt.Fprintf(&b, "| %d | %s | %.2f | %.2f | %s | %.2f | %.1f MiB |\n", n, v.name, median(ratiosA[k]), median(ratiosB[k]),
				ms(time.Duration(median(p99s[k]))), median(cmds[k]), float64(rss[fmt.Sprintf("%s/%d", v.name, n)])/(1<<20))
		}
	}
	k := key{conns[0], "sessionlab"}
	check := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**not met**"
	}
	fmt.Fprintf(&b, "\nTargets for (c) at %d connections (medians):\n\n", conns[0])
	fmt.Fprintf(&b, "- ≥ 0.40× (a): %.2f — %s\n", median(ratiosA[k]), check(median(ratiosA[k]) >= 0.40))
	fmt.Fprintf(&b, "- ≥ 1.0× (b): %.2f — %s\n", median(ratiosB[k]), check(median(ratiosB[k]) >= 1.0))
	fmt.Fprintf(&b, "- ≤ 1 Redis round trip per unchanged signed-in request: %.2f commands (GET) — %s\n", median(cmds[k]), check(median(cmds[k]) <= 1.01))
	fmt.Fprintf(&b, "- p99 ≤ 25 ms: %s — %s\n", ms(time.Duration(median(p99s[k]))), check(time.Duration(median(p99s[k])) <= 25*time.Millisecond))
	peak := rss[fmt.Sprintf("sessionlab/%d", conns[len(conns)-1])]
	fmt.Fprintf(&b, "- peak RSS ≤ 40 MiB (whole run, up to %d connections): %.1f MiB — %s\n", conns[len(conns)-1], float64(peak)/(1<<20), check(peak <= 40<<20))
	return b.String()
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func machine() string {
	model := "unknown CPU"
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	mem := ""
	if raw, err := os.ReadFile("/proc/meminfo"); err == nil {
		if m := regexp.MustCompile(`MemTotal:\s+(\d+) kB`).FindSubmatch(raw); m != nil {
			kb, _ := strconv.Atoi(string(m[1]))
			mem = fmt.Sprintf(", %.0f GiB", float64(kb)/(1<<20))
		}
	}
	redisVersion := ""
	if out, err := exec.Command("redis-server", "--version").Output(); err == nil {
		redisVersion = ", " + strings.TrimSpace(strings.SplitN(string(out), " sha=", 2)[0])
	}
	return fmt.Sprintf("%d × %s%s, %s %s/%s%s, loopback", runtime.NumCPU(), model, mem, runtime.Version(), runtime.GOOS, runtime.GOARCH, redisVersion)
}

// peakRSS is VmHWM of a process, in bytes.
func peakRSS(pid int) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(raw)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb << 10
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	return out, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startRedis runs a private redis-server without persistence in dir.
func startRedis(o options, dir string) (string, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := pin(o, loadCPUs, exec.Command("redis-server", "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", dir, "--logfile", ""))
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start redis-server (is it installed?): %w", err)
	}
	u := "redis://" + addr + "/0"
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if c, err := redis.DialURL(u); err == nil {
			_, err = c.Do("PING")
			c.Close()
			if err == nil {
				break
			}
		}
		if time.Now().After(deadline) {
			stop(cmd)
			return "", nil, errors.New("redis-server did not answer")
		}
	}
	return u, func() { stop(cmd) }, nil
}

func stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

func waitUp(base string) error {
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if res, err := http.Get(base + "/healthz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return errors.New("did not answer /healthz")
		}
	}
}

// checkPage: the measured page answers 200 (signed in where it should be).
func checkPage(v *variant) error {
	req, _ := http.NewRequest(http.MethodGet, v.url, nil)
	if v.cookie != "" {
		req.Header.Set("Cookie", v.cookie)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(string(body), "bench@example.com") {
		return fmt.Errorf("%s: GET /profile answered %d, not the signed-in page", v.name, res.StatusCode)
	}
	return nil
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// appSignIn signs up through Session Lab's own forms and returns the
// session cookie.
func appSignIn(base string) (string, error) {
	return signUp(base, "bench@example.com", "bench-password-1")
}

func textbookSignIn(base string) (string, error) {
	res, err := http.DefaultTransport.RoundTrip(must(http.NewRequest(http.MethodPost, base+"/login", nil)))
	if err != nil {
		return "", err
	}
	res.Body.Close()
	return sessionCookie(res)
}

func must(r *http.Request, err error) *http.Request {
	if err != nil {
		panic(err)
	}
	return r
}

func sessionCookie(res *http.Response) (string, error) {
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "session") && c.Value != "" {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", errors.New("no session cookie")
}

// serve runs variant (a) or (b) until interrupted.
func serve(name string, args []string) error {
	if len(args) < 1 {
		return errors.New("usage: bench serve bare|textbook ADDR [REDIS_URL]")
	}
	page, err := template.ParseFS(web.Templates, "templates/base.tmpl", "templates/profile.tmpl")
	if err != nil {
		return err
	}
	var h http.Handler
	switch name {
	case "bare":
		h = bare(page)
	case "textbook":
		if len(args) < 2 {
			return errors.New("textbook needs REDIS_URL")
		}
		h = textbook(page, args[1])
	default:
		return fmt.Errorf("unknown variant %q", name)
	}
	srv := &http.Server{Addr: args[0], Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		sig := make(chan os.Signal, 1)
		notify(sig)
		<-sig
		srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// profileData has the fields the profile template reads.
type profileData struct {
	Title, CSRFToken, Flash, Contrast string
	User                              *struct {
		Email     string
		CreatedAt time.Time
	}
	Session *struct {
		ShortID, Store, CookieName, CookieAttrs, CookieLifetime, BoundIP, CurrentIP, IPBinding string
		AuthenticatedAt, IdleDeadline, Deadline                                                time.Time
		IdleTimeout                                                                            time.Duration
	}
}

func newProfileData(email string) profileData {
	d := profileData{Title: "Profile", CSRFToken: "token"}
	d.User = &struct {
		Email     string
		CreatedAt time.Time
	}{email, time.Now()}
	d.Session = &struct {
		ShortID, Store, CookieName, CookieAttrs, CookieLifetime, BoundIP, CurrentIP, IPBinding string
		AuthenticatedAt, IdleDeadline, Deadline                                                time.Time
		IdleTimeout                                                                            time.Duration
	}{ShortID: "abc", Store: "redis", CookieName: "session", CookieAttrs: "HttpOnly, Secure, SameSite=Strict, Path=/, no Domain",
		CookieLifetime: "no Max-Age or Expires: a browser-session cookie, gone when the browser closes", Deadline: time.Now()}
	return d
}

func bare(page *template.Template) http.Handler {
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	r.Get("/profile", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		page.ExecuteTemplate(w, "base", newProfileData("bench@example.com"))
	})
	return r
}

// textbook is the setup the tutorials show: scs with the stock redisstore
// on a redigo pool, RenewToken at login, a profile that reads the user id.
func textbook(page *template.Template, redisURL string) http.Handler {
	pool := &redis.Pool{MaxIdle: 128, MaxActive: 128, Wait: true,
		Dial: func() (redis.Conn, error) { return redis.DialURL(redisURL) }}
	sm := scs.New()
	sm.Store = redisstore.NewWithPrefix(pool, "textbook:session:")
	sm.IdleTimeout = 30 * time.Minute
	sm.Lifetime = 12 * time.Hour
	sm.Cookie.Name = "textbook_session"
	sm.Cookie.HttpOnly = true
	sm.Cookie.SameSite = http.SameSiteStrictMode
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	r.Group(func(r chi.Router) {
		r.Use(sm.LoadAndSave)
		r.Post("/login", func(w http.ResponseWriter, r *http.Request) {
			if err := sm.RenewToken(r.Context()); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			sm.Put(r.Context(), "user_id", int64(1))
			sm.Put(r.Context(), "email", "bench@example.com")
			http.Redirect(w, r, "/profile", http.StatusSeeOther)
		})
		r.Get("/profile", func(w http.ResponseWriter, r *http.Request) {
			if sm.GetInt64(r.Context(), "user_id") == 0 {
				http.Redirect(w, r, "/login", http.StatusSeeOther)
				return
			}
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			page.ExecuteTemplate(w, "base", newProfileData(sm.GetString(r.Context(), "email")))
		})
	})
	return r
}

// CPU sets when pinning: the servers get the last CPU to themselves, the
// load generator and Redis share the rest, so the generator's own work
// does not run on the server's core.
var (
	serverCPU = strconv.Itoa(runtime.NumCPU() - 1)
	loadCPUs  = "0-" + strconv.Itoa(max(runtime.NumCPU()-2, 0))
)

// pin runs cmd under taskset on cpus when o.pin is set.
func pin(o options, cpus string, cmd *exec.Cmd) *exec.Cmd {
	if !o.pin {
		return cmd
	}
	c := exec.Command("taskset", append([]string{"-c", cpus, cmd.Path}, cmd.Args[1:]...)...)
	c.Env = cmd.Env
	return c
}

// pinSelf moves every thread of this process (the load generator) to
// loadCPUs.
func pinSelf() error {
	if runtime.NumCPU() < 2 {
		return errors.New("-pin needs at least 2 CPUs (use -pin=false)")
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if out, err := exec.Command("taskset", "-p", "-c", loadCPUs, t.Name()).CombinedOutput(); err != nil {
			return fmt.Errorf("taskset: %v: %s", err, out)
		}
	}
	return nil
}

// floodPhases runs floodPhase with the defaults (bcrypt in worker
// processes) and, side by side in the same run, with BCRYPT_WORKERS=thread
// (bcrypt on threads of the server), and reports both.
func floodPhases(o options, appCmd func(addr string) *exec.Cmd, n int) (string, error) {
	out := "\nLogin flood: 16 clients post wrong passwords for rotating emails from rotating addresses (so no throttle stops them: only the bcrypt slots do), " +
		fmt.Sprintf("%d rounds of %v, interleaved with the same load alone; each time a separate instance of (c), not pinned, on every CPU, ", o.rounds, o.duration) +
		fmt.Sprintf("/profile at a steady 500 requests/s (up to %d workers). Target: the flooded p99 within 3× of the p99 alone, with the defaults.\n\n", n)
	for _, c := range []struct{ label, env string }{
		{"defaults (BCRYPT_WORKERS=process, BCRYPT_NICE=10, BCRYPT_CONCURRENCY half the CPUs)", "BCRYPT_WORKERS=process"},
		{"BCRYPT_WORKERS=thread (bcrypt on threads of the server, for comparison)", "BCRYPT_WORKERS=thread"},
	} {
		cmd := func(addr string) *exec.Cmd {
			x := appCmd(addr)
			x.Env = append(x.Env, c.env) // the last setting wins, whatever this environment says
			return x
		}
		line, err := floodPhase(o, cmd, n)
		if err != nil {
			return "", err
		}
		out += "- " + c.label + ": " + line
	}
	return out, nil
}

// floodPhase measures Session Lab's signed-in /profile at n connections
// alone and while 16 clients flood /login with wrong passwords for
// rotating emails from rotating addresses (so no throttle stops them:
// only the bcrypt slots do), interleaved, and reports the p99s.
//
// This instance is not pinned: it runs as deployed, on every CPU, with
// BCRYPT_CONCURRENCY at its default (half of them), which is what leaves
// the rest for signed-in pages.
func floodPhase(o options, appCmd func(addr string) *exec.Cmd, n int) (string, error) {
	addr, err := freeAddr()
	if err != nil {
		return "", err
	}
	// Every CPU, explicitly: a child inherits the CPU affinity of this
	// (pinned) process, and would otherwise see one CPU — GOMAXPROCS 1 and
	// a single bcrypt slot sharing it with every page.
	cmd := pin(o, "0-"+strconv.Itoa(runtime.NumCPU()-1), appCmd(addr))
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer stop(cmd)
	base := "http://" + addr
	if err := waitUp(base); err != nil {
		return "", err
	}
	v := &variant{name: "sessionlab-flood", url: base + "/profile", cmd: cmd}
	if v.cookie, err = appSignIn(base); err != nil {
		return "", err
	}
	res, err := http.Get(base + "/login")
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		return "", errors.New("flood: no CSRF token on /login")
	}
	var cookies []string
	for _, c := range res.Cookies() {
		cookies = append(cookies, c.Name+"="+c.Value)
	}
	var i uint64
	var mu sync.Mutex
	flood := func(tgt *vegeta.Target) error {
		mu.Lock()
		i++
		k := i
		mu.Unlock()
		form := url.Values{"csrf_token": {string(m[1])}, "email": {fmt.Sprintf("nobody-%d@example.com", k)}, "password": {"wrong-password"}}
		tgt.Method, tgt.URL, tgt.Body = http.MethodPost, base+"/login", []byte(form.Encode())
		tgt.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {strings.Join(cookies, "; ")},
			"X-Forwarded-For": {fmt.Sprintf("198.51.%d.%d", (k/250)%250, k%250+1)}}
		return nil
	}
	// /profile at a steady 500 requests a second (well under capacity), so
	// the p99 shows the flood's effect, not queueing at saturation.
	paced := func() *vegeta.Metrics {
		tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: v.url, Header: http.Header{"Cookie": {v.cookie}}})
		at := vegeta.NewAttacker(vegeta.Workers(uint64(n)), vegeta.MaxWorkers(uint64(n)), vegeta.Redirects(vegeta.NoFollow))
		var m vegeta.Metrics
		for r := range at.Attack(tr, vegeta.Rate{Freq: 500, Per: time.Second}, o.duration, "paced") {
			m.Add(r)
		}
		m.Close()
		return &m
	}
	var alone, flooded []float64
	var floodMu sync.Mutex
	byCode := map[uint16][]float64{} // the flood's answer latencies by status
	for range o.rounds {
		a := paced()
		alone = append(alone, float64(a.Latencies.P99))
		done := make(chan *vegeta.Metrics, 1)
		go func() {
			at := vegeta.NewAttacker(vegeta.Workers(16), vegeta.MaxWorkers(16), vegeta.Connections(16), vegeta.MaxConnections(16),
				vegeta.Redirects(vegeta.NoFollow))
			var fm vegeta.Metrics
			for r := range at.Attack(flood, vegeta.Rate{Freq: 0}, o.duration, "flood") {
				fm.Add(r)
				floodMu.Lock()
				byCode[r.Code] = append(byCode[r.Code], float64(r.Latency))
				floodMu.Unlock()
			}
			fm.Close()
			done <- &fm
		}()
		f := paced()
		fm := <-done
		flooded = append(flooded, float64(f.Latencies.P99))
		fmt.Fprintf(os.Stderr, "bench: flood round: /profile p99 %v alone, %v flooded; flood %v\n", ms(time.Duration(a.Latencies.P99)), ms(time.Duration(f.Latencies.P99)), fm.StatusCodes)
	}
	var answers []string
	for _, c := range slices.Sorted(maps.Keys(byCode)) {
		answers = append(answers, fmt.Sprintf("%d × %d (median %s)", len(byCode[c]), c, ms(time.Duration(median(byCode[c])))))
	}
	pa, pf := time.Duration(median(alone)), time.Duration(median(flooded))
	check := "met"
	if pf > 3*pa {
		check = "**not met**"
	}
	return fmt.Sprintf("/profile p99 %s alone, %s during the flood — %.1f× (≤ 3×: %s). The flood's answers: %s (401: wrong password, after a hash; 503: no slot to be had within BCRYPT_WAIT, answered at once).\n",
		ms(pa), ms(pf), float64(pf)/float64(pa), check, strings.Join(answers, ", ")), nil
}
