package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
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
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// soakOptions are the flags of `bench soak` (make soak).
type soakOptions struct {
	duration, warmup, every time.Duration
	rate                    int
	users                   int
	out                     string
}

// soakUser is one signed-up account with its main session.
type soakUser struct {
	email, password string
	cookie          string // its main session's cookie header
	csrf            string // that session's CSRF token
}

// soakSample is one reading of the app and Redis.
type soakSample struct {
	at                     time.Duration
	rss                    int64
	threads, fds           int
	workers                int   // bcrypt worker processes (children of the app)
	workersRSS             int64 // their RSS, together
	keys                   int
	redisMemory            int64
	noTTL                  int
	requests, serverErrors int64
}

// soakBounds are the growth allowed after warm-up.
var soakBounds = struct {
	rss, redisMemory int64
	fds, threads     int
	workers          int // at any sample: BCRYPT_CONCURRENCY's default on this machine
}{rss: 16 << 20, redisMemory: 32 << 20, fds: 50, threads: 10, workers: max(1, runtime.NumCPU()/2)}

// runSoak runs a bounded mixed load against the app for o.duration and
// fails on any 5xx, on growth past soakBounds after warm-up, or on a Redis
// key without a TTL.
func runSoak(args []string) error {
	var o soakOptions
	fs := flag.NewFlagSet("soak", flag.ExitOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Minute, "how long the load runs")
	fs.DurationVar(&o.warmup, "warmup", time.Minute, "growth is measured from the first sample after this")
	fs.DurationVar(&o.every, "every", 30*time.Second, "sampling interval")
	fs.IntVar(&o.rate, "rate", 200, "requests per second of the mixed load (the login churn comes on top)")
	fs.IntVar(&o.users, "users", 20, "accounts signed up before the load")
	fs.StringVar(&o.out, "out", "", "write the figures into this Markdown file, between <!-- soak --> markers")
	fs.Parse(args)

	dir, err := os.MkdirTemp("", "sessionlab-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	rdb, stopRedis, err := startRedis(options{}, dir)
	if err != nil {
		return err
	}
	defer stopRedis()
	app := filepath.Join(dir, "sessionlab")
	fmt.Fprintln(os.Stderr, "soak: building the app")
	if out, err := exec.Command("go", "build", "-o", app, "./cmd/web").CombinedOutput(); err != nil {
		return fmt.Errorf("build the app (run from the repository root): %v\n%s", err, out)
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cmd := exec.Command(app)
	cmd.Env = append(os.Environ(), "ADDR="+addr, "DATABASE_URL=sqlite:"+filepath.Join(dir, "app.db"), "REDIS_URL="+rdb,
		"BCRYPT_COST=10", "REAUTH_WINDOW=12h", "TRUSTED_PROXIES=127.0.0.1/32", "LOG_FORMAT=json",
		// The accounts' main sessions must outlast the load's logins.
		"SESSIONS_PER_USER=1000")
	logFile, err := os.Create(filepath.Join(dir, "app.log"))
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return err
	}
	defer stop(cmd)
	base := "http://" + addr
	if err := waitUp(base); err != nil {
		return err
	}

	users := make([]*soakUser, o.users)
	for i := range users {
		u := &soakUser{email: fmt.Sprintf("soak-%d@example.com", i), password: "soak-password-" + strconv.Itoa(i)}
		if u.cookie, err = signUp(base, u.email, u.password); err != nil {
			return fmt.Errorf("sign up %s: %w", u.email, err)
		}
		if u.csrf, err = pageCSRF(base+"/account/password", u.cookie); err != nil {
			return err
		}
		users[i] = u
	}
	anonCookie, anonCSRF, err := anonymousForm(base)
	if err != nil {
		return err
	}

	var requests, serverErrors atomic.Int64
	statuses := sync.Map{} // "METHOD path status" → *atomic.Int64
	count := func(key string) {
		v, _ := statuses.LoadOrStore(key, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	var mu sync.Mutex
	rng := rand.New(rand.NewPCG(10, 1))
	var seq atomic.Int64
	targeter := func(tgt *vegeta.Target) error {
		mu.Lock()
		u := users[rng.IntN(len(users))]
		k := rng.IntN(100)
		mu.Unlock()
		n := seq.Add(1)
		xff := fmt.Sprintf("198.18.%d.%d", (n/250)%250, n%250+1)
		// Anonymous requests come from rotating addresses (as many
		// clients would, so no per-IP budget is spent); signed-in ones from
		// the address their session is bound to (IP binding is strict).
		form := func(path, cookie string, f url.Values) {
			tgt.Method, tgt.URL, tgt.Body = http.MethodPost, base+path, []byte(f.Encode())
			tgt.Header = http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Cookie": {cookie}}
			if !strings.Contains(cookie, "session=") {
				tgt.Header.Set("X-Forwarded-For", xff)
			}
		}
		get := func(path, cookie string) {
			tgt.Method, tgt.URL, tgt.Body = http.MethodGet, base+path, nil
			tgt.Header = http.Header{}
			if cookie != "" {
				tgt.Header.Set("Cookie", cookie)
			} else {
				tgt.Header.Set("X-Forwarded-For", xff)
			}
		}
		// Password checks (about 4% of the load, 8 a second at the default
		// rate, plus the churn's 2) stay within what the bcrypt slots
		// serve, so a 503 here would be a fault, not the designed
		// turn-away of a login flood.
		switch {
		case k < 55:
			get("/profile", u.cookie)
		case k < 75:
			get("/sessions", u.cookie)
		case k < 94:
			get("/", "")
		case k < 96:
			form("/login", anonCookie, url.Values{"csrf_token": {anonCSRF}, "email": {u.email}, "password": {"a-wrong-password"}})
		case k < 97:
			form("/login", anonCookie, url.Values{"csrf_token": {anonCSRF}, "email": {u.email}, "password": {u.password}})
		case k < 98:
			form("/signup", anonCookie, url.Values{"csrf_token": {anonCSRF}, "email": {fmt.Sprintf("soak-new-%d@example.com", n)}, "password": {"a-new-password"}})
		default:
			form("/sessions/revoke-others", u.cookie, url.Values{"csrf_token": {u.csrf}})
		}
		return nil
	}

	stopChurn := make(chan struct{})
	var churn sync.WaitGroup
	churn.Go(func() { soakChurn(base, users, stopChurn, &requests, &serverErrors, count) })

	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.DialURL(rdb) }}
	defer pool.Close()
	start := time.Now()
	var samples []soakSample
	sampleNow := func() {
		s := sampleSoak(pool, cmd.Process.Pid)
		s.at, s.requests, s.serverErrors = time.Since(start).Round(time.Second), requests.Load(), serverErrors.Load()
		samples = append(samples, s)
		fmt.Fprintf(os.Stderr, "soak: %v rss %.1f MiB, threads %d, fds %d, redis keys %d (%.1f MiB, %d without TTL), %d requests, %d 5xx\n",
			s.at, float64(s.rss)/(1<<20), s.threads, s.fds, s.keys, float64(s.redisMemory)/(1<<20), s.noTTL, s.requests, s.serverErrors)
	}
	sampleNow()
	at := vegeta.NewAttacker(vegeta.Workers(16), vegeta.MaxWorkers(64), vegeta.Redirects(vegeta.NoFollow), vegeta.Timeout(10*time.Second))
	results := at.Attack(targeter, vegeta.Rate{Freq: o.rate, Per: time.Second}, o.duration, "soak")
	tick := time.NewTicker(o.every)
	defer tick.Stop()
	pathRE := regexp.MustCompile(`^https?://[^/]+`)
loop:
	for {
		select {
		case r, ok := <-results:
			if !ok {
				break loop
			}
			requests.Add(1)
			if r.Code >= 500 || r.Code == 0 {
				serverErrors.Add(1)
			}
			count(fmt.Sprintf("%s %s %d", r.Method, pathRE.ReplaceAllString(r.URL, ""), r.Code))
		case <-tick.C:
			sampleNow()
		}
	}
	close(stopChurn)
	churn.Wait()
	sampleNow()

	var lines []string
	statuses.Range(func(k, v any) bool {
		lines = append(lines, fmt.Sprintf("%s: %d", k, v.(*atomic.Int64).Load()))
		return true
	})
	report, failures := renderSoak(o, samples, lines)
	fmt.Print(report)
	if o.out != "" {
		if err := writeBetweenMarkers(o.out, report); err != nil {
			return err
		}
		fmt.Fprintln(os.Stderr, "soak: wrote", o.out)
	}
	if len(failures) > 0 {
		return fmt.Errorf("soak failed: %s", strings.Join(failures, "; "))
	}
	return nil
}

// soakChurn signs in, looks at the profile and logs out, again and again,
// at about two flows a second: sessions created and destroyed.
func soakChurn(base string, users []*soakUser, done <-chan struct{}, requests, serverErrors *atomic.Int64, count func(string)) {
	hc := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	note := func(method, path string, res *http.Response, err error) {
		requests.Add(1)
		code := 0
		if err == nil {
			code = res.StatusCode
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
		}
		if code >= 500 || code == 0 {
			serverErrors.Add(1)
		}
		count(fmt.Sprintf("%s %s %d (churn)", method, path, code))
	}
	for i := 0; ; i++ {
		select {
		case <-done:
			return
		case <-time.After(500 * time.Millisecond):
		}
		u := users[i%len(users)]
		cookie, err := logIn(base, u.email, u.password)
		var refused statusError
		if errors.As(err, &refused) {
			count(fmt.Sprintf("POST /login %d (churn)", int(refused)))
			requests.Add(1)
			if refused >= 500 {
				serverErrors.Add(1)
			}
			continue
		}
		if err != nil {
			note(http.MethodPost, "/login", nil, err)
			continue
		}
		csrf, err := pageCSRF(base+"/account/password", cookie)
		if err != nil {
			note(http.MethodGet, "/account/password", nil, err)
			continue
		}
		req, _ := http.NewRequest(http.MethodPost, base+"/logout", strings.NewReader(url.Values{"csrf_token": {csrf}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Cookie", cookie)
		res, err := hc.Do(req)
		note(http.MethodPost, "/logout", res, err)
	}
}

// sampleSoak reads the app's memory, threads and descriptors from /proc,
// and Redis's keys, memory and keys without a TTL.
func sampleSoak(pool *redis.Pool, pid int) soakSample {
	var s soakSample
	if raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(raw); m != nil {
			kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
			s.rss = kb << 10
		}
		if m := regexp.MustCompile(`Threads:\s+(\d+)`).FindSubmatch(raw); m != nil {
			s.threads, _ = strconv.Atoi(string(m[1]))
		}
	}
	if fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		s.fds = len(fds)
	}
	s.workers, s.workersRSS = children(pid)
	conn := pool.Get()
	defer conn.Close()
	s.keys, _ = redis.Int(conn.Do("DBSIZE"))
	if info, err := redis.String(conn.Do("INFO", "memory")); err == nil {
		if m := regexp.MustCompile(`(?m)^used_memory:(\d+)`).FindStringSubmatch(info); m != nil {
			s.redisMemory, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	cursor := 0
	for {
		vals, err := redis.Values(conn.Do("SCAN", cursor, "COUNT", 1000))
		if err != nil {
			break
		}
		cursor, _ = redis.Int(vals[0], nil)
		keys, _ := redis.Strings(vals[1], nil)
		for _, k := range keys {
			conn.Send("PTTL", k)
		}
		if len(keys) > 0 {
			ttls, _ := redis.Int64s(conn.Do(""))
			for _, t := range ttls {
				if t == -1 {
					s.noTTL++
				}
			}
		}
		if cursor == 0 {
			break
		}
	}
	return s
}

// children counts pid's child processes and adds up their RSS, from
// /proc/*/stat (field 4 is the parent) and /proc/*/status.
func children(pid int) (n int, rss int64) {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, stat := range stats {
		raw, err := os.ReadFile(stat)
		if err != nil {
			continue
		}
		fields := strings.Fields(string(raw[bytes.LastIndexByte(raw, ')')+1:]))
		if len(fields) < 2 || fields[1] != strconv.Itoa(pid) {
			continue
		}
		n++
		if status, err := os.ReadFile(filepath.Join(filepath.Dir(stat), "status")); err == nil {
			if m := regexp.MustCompile(`VmRSS:\s+(\d+) kB`).FindSubmatch(status); m != nil {
				kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
				rss += kb << 10
			}
		}
	}
	return n, rss
}

func renderSoak(o soakOptions, samples []soakSample, statuses []string) (string, []string) {
	var b strings.Builder
	fmt.Fprintf(&b, "Last run: `make soak` (`go run ./cmd/bench soak %s`) on %s — %s at %d requests/s of mixed load plus a login/logout churn, %d accounts. Machine: %s.\n\n",
		strings.Join(os.Args[2:], " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"), o.duration, o.rate, o.users, machine())
	b.WriteString("| at | app RSS | threads | file descriptors | bcrypt workers (RSS) | Redis keys | Redis memory | keys without TTL | requests | 5xx |\n|---|---|---|---|---|---|---|---|---|---|\n")
	for _, s := range samples {
		fmt.Fprintf(&b, "| %v | %.1f MiB | %d | %d | %d (%.1f MiB) | %d | %.1f MiB | %d | %d | %d |\n", s.at, float64(s.rss)/(1<<20), s.threads, s.fds,
			s.workers, float64(s.workersRSS)/(1<<20), s.keys, float64(s.redisMemory)/(1<<20), s.noTTL, s.requests, s.serverErrors)
	}
	var failures []string
	last := samples[len(samples)-1]
	var warm soakSample
	for _, s := range samples {
		if s.at >= o.warmup {
			warm = s
			break
		}
	}
	if warm.at == 0 {
		warm = samples[0]
	}
	check := func(ok bool, what string) {
		verdict := "held"
		if !ok {
			verdict = "**failed**"
			failures = append(failures, what)
		}
		fmt.Fprintf(&b, "- %s — %s\n", what, verdict)
	}
	fmt.Fprintf(&b, "\nChecks (growth from the first sample after the %v warm-up, at %v, to the end):\n\n", o.warmup, warm.at)
	check(last.serverErrors == 0, fmt.Sprintf("no 5xx (%d of %d requests)", last.serverErrors, last.requests))
	check(last.rss-warm.rss <= soakBounds.rss, fmt.Sprintf("app RSS grew by %.1f MiB, at most %.0f MiB allowed", float64(last.rss-warm.rss)/(1<<20), float64(soakBounds.rss)/(1<<20)))
	check(last.fds-warm.fds <= soakBounds.fds, fmt.Sprintf("file descriptors grew by %d, at most %d allowed", last.fds-warm.fds, soakBounds.fds))
	check(last.threads-warm.threads <= soakBounds.threads, fmt.Sprintf("threads grew by %d, at most %d allowed", last.threads-warm.threads, soakBounds.threads))
	check(last.redisMemory-warm.redisMemory <= soakBounds.redisMemory, fmt.Sprintf("Redis memory grew by %.1f MiB, at most %.0f MiB allowed (tombstones and throttle counters live for their TTL)", float64(last.redisMemory-warm.redisMemory)/(1<<20), float64(soakBounds.redisMemory)/(1<<20)))
	noTTL := 0
	for _, s := range samples {
		noTTL = max(noTTL, s.noTTL)
	}
	check(noTTL == 0, fmt.Sprintf("every Redis key has a TTL (%d without, at worst)", noTTL))
	workers := 0
	for _, s := range samples {
		workers = max(workers, s.workers)
	}
	check(workers <= soakBounds.workers, fmt.Sprintf("bcrypt worker processes: at most %d at any sample, at most %d (BCRYPT_CONCURRENCY) allowed; %.1f MiB together at the end", workers, soakBounds.workers, float64(last.workersRSS)/(1<<20)))
	b.WriteString("\nAnswers by request (the app's goroutines are not visible from outside the process: its threads are shown instead):\n\n```\n")
	slices.Sort(statuses)
	b.WriteString(strings.Join(statuses, "\n"))
	b.WriteString("\n```\n")
	return b.String(), failures
}

// writeBetweenMarkers replaces what stands between the two "<!-- soak -->"
// lines of file with text.
func writeBetweenMarkers(file, text string) error {
	raw, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	const marker = "<!-- soak -->\n"
	parts := strings.SplitN(string(raw), marker, 3)
	if len(parts) != 3 {
		return errors.New(file + ": two <!-- soak --> lines are needed")
	}
	return os.WriteFile(file, []byte(parts[0]+marker+text+marker+parts[2]), 0o644)
}

// signUp signs up through the form and returns the session cookie header.
func signUp(base, email, password string) (string, error) {
	return submitCredentials(base, "/signup", email, password)
}

// logIn logs in through the form and returns the session cookie header.
func logIn(base, email, password string) (string, error) {
	return submitCredentials(base, "/login", email, password)
}

func submitCredentials(base, path, email, password string) (string, error) {
	cookie, csrf, err := anonymousForm(base)
	if err != nil {
		return "", err
	}
	form := url.Values{"csrf_token": {csrf}, "email": {email}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return "", err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		return "", statusError(res.StatusCode)
	}
	return sessionCookie(res)
}

// statusError is an unexpected HTTP status.
type statusError int

func (e statusError) Error() string { return "answered " + strconv.Itoa(int(e)) }

// anonymousForm returns the login form's CSRF cookie header and token.
func anonymousForm(base string) (cookie, token string, err error) {
	res, err := http.Get(base + "/login")
	if err != nil {
		return "", "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if m == nil {
		return "", "", errors.New("no CSRF token on /login")
	}
	var parts []string
	for _, c := range res.Cookies() {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; "), string(m[1]), nil
}

// pageCSRF is the CSRF token on a signed-in page.
func pageCSRF(pageURL, cookie string) (string, error) {
	req, _ := http.NewRequest(http.MethodGet, pageURL, nil)
	req.Header.Set("Cookie", cookie)
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return "", err
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		return "", fmt.Errorf("%s answered %d without a CSRF token", pageURL, res.StatusCode)
	}
	return string(m[1]), nil
}
