package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode"

	"golang.org/x/crypto/bcrypt"
)

// IPBinding is how strictly a session is tied to the client IP address it
// was created from.
type IPBinding string

// The IP binding modes accepted in SESSION_IP_BINDING.
const (
	IPBindingOff    IPBinding = "off"    // no check
	IPBindingLog    IPBinding = "log"    // a change is logged, the session continues
	IPBindingSubnet IPBinding = "subnet" // a change outside the /24 (IPv4) or /64 (IPv6) ends the session
	IPBindingStrict IPBinding = "strict" // any change ends the session
)

// Defaults, applied when a variable is unset or empty.
const (
	// SECURITY(deployment): loopback only, so starting the demo does not
	// publish it to the network until ADDR says so — OWASP Top 10 2025 A02.
	defaultAddr        = "localhost:8080"
	defaultDatabaseURL = "sqlite:data/sessionlab.db"

	// SECURITY(timeouts): 30 minutes of inactivity end a session, bounding
	// how long an unattended or stolen one stays usable — ASVS 5.0 7.3.1.
	defaultIdleTimeout = 30 * time.Minute
	// SECURITY(timeouts): 12 hours end a session even in use, so activity
	// cannot keep a hijacked one alive — ASVS 5.0 7.3.2.
	defaultLifetime = 12 * time.Hour
	// SECURITY(revocation): ending sessions or deleting the account needs a
	// password entered in the last 10 minutes, so a borrowed session cannot
	// do the irreversible — ASVS 5.0 7.5.2, 7.5.3.
	defaultReauthWindow = 10 * time.Minute

	// SECURITY(ip-binding): strict by default: a cookie replayed from
	// another address ends the session — ASVS 5.0 8.2.4.
	defaultIPBinding = IPBindingStrict

	// SECURITY(passwords): cost 12 keeps an offline guess expensive while a
	// login stays well under a second — ASVS 5.0 11.4.2.
	defaultBcryptCost = 12
	// SECURITY(passwords): a cost below 10 is refused: it makes stolen
	// hashes cheap to crack — ASVS 5.0 11.4.2.
	minBcryptCost = 10

	defaultSessionsPerUser   = 50
	defaultMaxConnections    = 1024
	defaultRequestTimeout    = 5 * time.Second
	maxMaxConnections        = 100000
	maxSessionsPerUser       = 1000
	defaultLoginAccountLimit = 10
	defaultLoginIPLimit      = 50
	// SECURITY(throttling): 20 sign-ups per client IP in 15 minutes bound
	// account creation and enumeration through "email taken" — ASVS 5.0
	// 6.3.8.
	defaultSignupIPLimit  = 20
	defaultThrottleWindow = 15 * time.Minute
	// SECURITY(throttling): NIST SP 800-63B-4 §3.2.2 caps consecutive
	// failures per account at 100; a larger budget per window is not
	// throttling at all.
	maxLoginAccountLimit = 100
	minThrottleWindow    = time.Minute
	maxThrottleWindow    = 24 * time.Hour

	// SECURITY(dos): a request waits at most 2 s for a bcrypt slot, then
	// gets a 503, so a login flood cannot queue without bound — ASVS 5.0
	// 15.2.2.
	defaultBcryptWait = 2 * time.Second
	// defaultBcryptNice: bcrypt's worker processes run 10 steps nicer than
	// the server, so that the kernel gives signed-in pages the CPU first
	// during a login flood (docs/BENCHMARKS.md has the figures). In a
	// process of their own they hold none of the server's Go Ps, which a
	// lowered thread of the server would (every stop-the-world pause waits
	// for it).
	defaultBcryptNice = 10
	maxBcryptWait     = 10 * time.Second

	defaultLogFormat = "text"
)

// defaultBcryptConcurrency is half the CPUs, at least one: bcrypt is CPU
// bound, so more at once only makes each one slower.
//
// SECURITY(dos): a flood of logins keeps the other half of the CPUs free,
// so signed-in pages stay fast — ASVS 5.0 15.2.2.
func defaultBcryptConcurrency() int { return max(1, runtime.NumCPU()/2) }

const (
	cookieNameSecure   = "__Host-session"
	cookieNameInsecure = "session"
)

// Config is every knob of Session Lab. Build it with [Load]; a Config
// returned by Load without error is valid.
type Config struct {
	Addr            string         // ADDR, default "localhost:8080"
	DatabaseURL     string         // DATABASE_URL, default "sqlite:data/sessionlab.db"
	RedisURL        string         // REDIS_URL, default "" (sessions in the SQL database)
	RedisCAFile     string         // REDIS_CA_FILE, default "" (the system's roots): PEM roots to verify a rediss:// server
	IdleTimeout     time.Duration  // SESSION_IDLE_TIMEOUT, default 30m
	Lifetime        time.Duration  // SESSION_LIFETIME, default 12h
	ReauthWindow    time.Duration  // REAUTH_WINDOW, default 10m
	IPBinding       IPBinding      // SESSION_IP_BINDING, default strict
	TrustedProxies  []netip.Prefix // TRUSTED_PROXIES, comma-separated CIDRs (a bare IP means /32 or /128), default none
	CookieSecure    bool           // COOKIE_SECURE, default true
	TLSCert         string         // TLS_CERT
	TLSKey          string         // TLS_KEY
	BcryptCost      int            // BCRYPT_COST, default 12, refused below 10 and above 31 (bcrypt.MaxCost)
	LogFormat       string         // LOG_FORMAT, "text" (default) or "json"
	LogLevel        slog.Level     // LOG_LEVEL, "info" (default) or "debug" (adds one line per request)
	LabAttackerAddr string         // LAB_ATTACKER_ADDR, default "" (off): where the attack lab's "other site" listens
	ShutdownDelay   time.Duration  // SHUTDOWN_DELAY, default 0 (0–60s): how long /healthz answers 503 before a stop starts draining
	Warnings        []string       // non-fatal notes for the caller to log at start-up (e.g. COOKIE_SECURE=false)

	BcryptConcurrency int           // BCRYPT_CONCURRENCY, default max(1, NumCPU/2): bcrypt operations at once
	BcryptWait        time.Duration // BCRYPT_WAIT, default 2s: how long a request waits for a bcrypt slot before a 503
	BcryptWorkers     string        // BCRYPT_WORKERS, "process" (default: bcrypt in worker processes of this binary) or "thread" (in the server, on threads of its own)
	BcryptNice        int           // BCRYPT_NICE, default 10 (0–19): how much nicer than the server the worker processes run (Linux; not used with "thread")
	LoginAccountLimit int           // LOGIN_ACCOUNT_LIMIT, default 10 failed logins per account per ThrottleWindow
	LoginIPLimit      int           // LOGIN_IP_LIMIT, default 50 failed logins per client IP per ThrottleWindow
	SignupIPLimit     int           // SIGNUP_IP_LIMIT, default 20 sign-up attempts per client IP per ThrottleWindow
	ThrottleWindow    time.Duration // THROTTLE_WINDOW, default 15m, between 1m and 24h
	SessionsPerUser   int           // SESSIONS_PER_USER, default 50 (1–1000): signing in past it ends the user's oldest session
	MaxConnections    int           // MAX_CONNECTIONS, default 1024 (1–100000): open client connections at once
	RequestTimeout    time.Duration // REQUEST_TIMEOUT, default 5s (1s–60s, longer than BCRYPT_WAIT): every request's deadline
}

// Load reads every variable through getenv (never os.Getenv directly),
// applies defaults, validates, and returns an error naming the variable and
// the bad value on any invalid input.
//
// An empty value means "use the default". Values are trimmed of surrounding
// spaces; a value made only of spaces is refused rather than defaulted,
// since it is more likely a mistake than a request for the default.
// All problems are reported together, joined with [errors.Join]; on error
// the returned Config is the zero value. Credentials in DATABASE_URL and
// REDIS_URL are masked in error messages.
func Load(getenv func(string) string) (Config, error) {
	l := &loader{getenv: getenv}

	// Read in the order of the documentation, so errors are listed in that order.
	var c Config
	c.Addr = l.addr()
	c.DatabaseURL = l.databaseURL()
	c.RedisURL = l.redisURL()
	c.RedisCAFile, _ = l.value("REDIS_CA_FILE")
	if c.RedisCAFile != "" && !strings.HasPrefix(c.RedisURL, "rediss://") {
		l.errs = append(l.errs, errors.New("REDIS_CA_FILE is set but REDIS_URL is not a rediss:// URL: the CA verifies a TLS connection to Redis"))
	}

	var idleOK, lifetimeOK bool
	c.IdleTimeout, idleOK = l.duration("SESSION_IDLE_TIMEOUT", defaultIdleTimeout)
	c.Lifetime, lifetimeOK = l.duration("SESSION_LIFETIME", defaultLifetime)
	c.ReauthWindow, _ = l.duration("REAUTH_WINDOW", defaultReauthWindow)
	// SECURITY(timeouts): an idle timeout longer than the absolute
	// lifetime would never fire: a misconfiguration — ASVS 5.0 7.1.1.
	if idleOK && lifetimeOK && c.IdleTimeout > c.Lifetime {
		l.errs = append(l.errs, fmt.Errorf(
			"SESSION_IDLE_TIMEOUT=%s exceeds SESSION_LIFETIME=%s: the idle timeout must not be longer than the absolute lifetime",
			ShortDuration(c.IdleTimeout), ShortDuration(c.Lifetime)))
	}

	c.IPBinding = l.ipBinding()
	c.TrustedProxies = l.trustedProxies()

	c.TLSCert, _ = l.value("TLS_CERT")
	c.TLSKey, _ = l.value("TLS_KEY")
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		l.errs = append(l.errs, errors.New("TLS_KEY is missing: TLS_CERT is set, and TLS_CERT and TLS_KEY must be set together"))
	case c.TLSCert == "" && c.TLSKey != "":
		l.errs = append(l.errs, errors.New("TLS_CERT is missing: TLS_KEY is set, and TLS_CERT and TLS_KEY must be set together"))
	}

	c.CookieSecure = l.cookieSecure()
	if !c.CookieSecure {
		// SECURITY(cookie): an HTTPS server has no reason to drop Secure;
		// refusing it keeps the __Host- prefix wherever it can work —
		// ASVS 5.0 3.3.1.
		if c.TLSCert != "" || c.TLSKey != "" {
			l.errs = append(l.errs, errors.New(
				"COOKIE_SECURE=false with TLS_CERT/TLS_KEY set: a server that speaks HTTPS must send its session cookie Secure; unset COOKIE_SECURE"))
		}
		// SECURITY(cookie): the operator is told what they gave up, at
		// every start — ASVS 5.0 3.3.1.
		l.warnings = append(l.warnings,
			`COOKIE_SECURE=false: the __Host- prefix is dropped (the session cookie is named "session", since __Host- requires Secure) `+
				"and the cookie travels over plain HTTP, where anyone on the network path can read it and take over the session; "+
				"use only for plain-HTTP hosts other than localhost")
	}

	c.BcryptCost = l.bcryptCost()
	c.BcryptConcurrency = l.count("BCRYPT_CONCURRENCY", defaultBcryptConcurrency(), 1024)
	c.BcryptWait, _ = l.duration("BCRYPT_WAIT", defaultBcryptWait)
	if c.BcryptWait > maxBcryptWait {
		l.fail("BCRYPT_WAIT", l.getenv("BCRYPT_WAIT"), "must be at most 10s: a longer wait only queues requests behind bcrypt")
	}
	c.BcryptWorkers = l.bcryptWorkers()
	c.BcryptNice = l.between("BCRYPT_NICE", defaultBcryptNice, 0, 19)
	// By default 10 failed logins per account and 50 per client IP in any
	// 15 minutes: a million guesses at one account would take years, while
	// a person who mistypes, or a classroom behind one NAT, is rarely
	// stopped. NIST SP 800-63B-4 §3.2.2 caps *consecutive* failures per
	// account at 100 with no window; 10 per 15 minutes lets up to 960 a day
	// through.
	// SECURITY(throttling): failed logins are limited per account and per
	// IP over a window, a documented deviation from NIST SP 800-63B-4
	// §3.2.2 — ASVS 5.0 6.1.1, 6.3.1.
	c.LoginAccountLimit = l.count("LOGIN_ACCOUNT_LIMIT", defaultLoginAccountLimit, maxLoginAccountLimit)
	// SECURITY(revocation): a bounded registry per user — one account
	// signing in without end cannot grow the store or slow /sessions —
	// ASVS 5.0 7.1.2.
	c.SessionsPerUser = l.count("SESSIONS_PER_USER", defaultSessionsPerUser, maxSessionsPerUser)
	// SECURITY(dos): a flood of idle sockets meets this limit (the rest
	// wait in the kernel's backlog), not the process's file descriptor
	// limit — ASVS 5.0 15.2.2.
	c.MaxConnections = l.count("MAX_CONNECTIONS", defaultMaxConnections, maxMaxConnections)
	// SECURITY(fail-closed): every request runs under a deadline that every
	// store and database call honours, so a hung dependency is a 503 in
	// seconds, never a request held without limit — ASVS 5.0 16.5.3.
	var timeoutOK bool
	c.RequestTimeout, timeoutOK = l.duration("REQUEST_TIMEOUT", defaultRequestTimeout)
	switch {
	case !timeoutOK:
	case c.RequestTimeout < time.Second || c.RequestTimeout > time.Minute:
		l.fail("REQUEST_TIMEOUT", l.getenv("REQUEST_TIMEOUT"), "must be between 1s and 1m")
	case c.RequestTimeout <= c.BcryptWait:
		l.fail("REQUEST_TIMEOUT", l.getenv("REQUEST_TIMEOUT"), "must be longer than BCRYPT_WAIT ("+ShortDuration(c.BcryptWait)+"): a login waits for a bcrypt slot within its deadline")
	}
	c.LoginIPLimit = l.count("LOGIN_IP_LIMIT", defaultLoginIPLimit, 1_000_000)
	c.SignupIPLimit = l.count("SIGNUP_IP_LIMIT", defaultSignupIPLimit, 1_000_000)
	c.ThrottleWindow, _ = l.duration("THROTTLE_WINDOW", defaultThrottleWindow)
	if c.ThrottleWindow < minThrottleWindow || c.ThrottleWindow > maxThrottleWindow {
		l.fail("THROTTLE_WINDOW", l.getenv("THROTTLE_WINDOW"), "must be between 1m and 24h: a shorter window lets guesses through almost as fast as the server answers")
	}

	c.LogFormat = l.logFormat()
	c.LogLevel = l.logLevel()
	c.ShutdownDelay = l.shutdownDelay()
	c.LabAttackerAddr = l.labAttackerAddr(c.Addr)

	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	c.Warnings = l.warnings
	return c, nil
}

// CookieName is "__Host-session" when CookieSecure, else "session" (the
// __Host- prefix requires Secure).
func (c Config) CookieName() string {
	// SECURITY(cookie): the browser refuses a __Host- cookie unless it is
	// Secure, Path=/ and has no Domain, so a sibling subdomain or a
	// plain-HTTP page cannot plant or overwrite it — ASVS 5.0 3.3.3.
	if c.CookieSecure {
		return cookieNameSecure
	}
	return cookieNameInsecure
}

// TLS reports whether TLSCert and TLSKey are both set.
func (c Config) TLS() bool {
	return c.TLSCert != "" && c.TLSKey != ""
}

// Database returns the dialect ("sqlite" or "postgres") and the
// driver-level DSN: for "sqlite:PATH" the PATH; for "postgres://" or
// "postgresql://" URLs the URL unchanged. For a DatabaseURL that Load
// would refuse it returns two empty strings.
func (c Config) Database() (dialect, dsn string) {
	dialect, dsn, err := parseDatabaseURL(c.DatabaseURL)
	if err != nil {
		return "", ""
	}
	return dialect, dsn
}

// loader reads variables through getenv and collects every problem, so
// that Load reports them all at once.
type loader struct {
	getenv   func(string) string
	errs     []error
	warnings []string
}

// fail records a problem with the value of variable name.
func (l *loader) fail(name, value, reason string) {
	l.errs = append(l.errs, fmt.Errorf("%s=%s: %s", name, display(value), reason))
}

// value returns the trimmed value of name and whether one was given. A
// value made only of spaces is recorded as an error.
func (l *loader) value(name string) (string, bool) {
	raw := l.getenv(name)
	if raw == "" {
		return "", false
	}
	v := strings.TrimSpace(raw)
	if v == "" {
		l.fail(name, raw, "must not be blank (leave it empty or unset for the default)")
		return "", false
	}
	return v, true
}

func (l *loader) addr() string {
	v, ok := l.value("ADDR")
	if !ok {
		return defaultAddr
	}
	// Caught here rather than when the listener fails, so it is reported with the rest.
	if _, _, err := net.SplitHostPort(v); err != nil {
		l.fail("ADDR", v, `must be host:port or :port, e.g. "localhost:8080" or ":8080"`)
	}
	return v
}

func (l *loader) databaseURL() string {
	v, ok := l.value("DATABASE_URL")
	if !ok {
		return defaultDatabaseURL
	}
	if _, _, err := parseDatabaseURL(v); err != nil {
		l.fail("DATABASE_URL", Redact(v), err.Error())
	}
	return v
}

func (l *loader) redisURL() string {
	v, ok := l.value("REDIS_URL")
	if !ok {
		return ""
	}
	if err := checkRedisURL(v); err != nil {
		l.fail("REDIS_URL", Redact(v), err.Error())
	}
	return v
}

// duration parses a positive duration; ok is false when the value given
// was invalid.
func (l *loader) duration(name string, def time.Duration) (d time.Duration, ok bool) {
	v, given := l.value(name)
	if !given {
		return def, l.getenv(name) == "" // false when a blank value was refused
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		l.fail(name, v, `must be a duration such as "30m" or "12h"`)
		return def, false
	}
	// SECURITY(timeouts): zero or negative would disable the timeout, and
	// a session would never expire — ASVS 5.0 7.3.1, 7.3.2.
	if d <= 0 {
		l.fail(name, v, "must be greater than zero")
		return def, false
	}
	return d, true
}

func (l *loader) ipBinding() IPBinding {
	v, ok := l.value("SESSION_IP_BINDING")
	if !ok {
		return defaultIPBinding
	}
	switch b := IPBinding(v); b {
	case IPBindingOff, IPBindingLog, IPBindingSubnet, IPBindingStrict:
		return b
	}
	l.fail("SESSION_IP_BINDING", v, "must be one of off, log, subnet, strict")
	return defaultIPBinding
}

func (l *loader) trustedProxies() []netip.Prefix {
	// SECURITY(ip-binding): no proxy is trusted by default: X-Forwarded-For
	// is whatever the client sent unless a trusted proxy overwrote it —
	// ASVS 5.0 4.1.3.
	var prefixes []netip.Prefix
	for item := range strings.SplitSeq(l.getenv("TRUSTED_PROXIES"), ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		p, err := parseProxy(item)
		if err != nil {
			l.fail("TRUSTED_PROXIES", item, err.Error())
			continue
		}
		// SECURITY(ip-binding): trusting every address lets any client
		// choose the IP the app sees; allowed for a proxy whose address is
		// unknown, but never silently — ASVS 5.0 4.1.3.
		if p.Bits() == 0 {
			l.warnings = append(l.warnings, fmt.Sprintf(
				"TRUSTED_PROXIES contains %s: every client counts as a trusted proxy, so any client can set the IP address the app sees through X-Forwarded-For", p))
		}
		prefixes = append(prefixes, p)
	}
	return prefixes
}

// parseProxy parses a CIDR prefix or a bare IP address (a /32 or /128).
// Host bits are cleared, and IPv4-mapped IPv6 addresses become IPv4, which
// is how net/http reports IPv4 clients.
func parseProxy(s string) (netip.Prefix, error) {
	var p netip.Prefix
	if strings.Contains(s, "/") {
		var err error
		p, err = netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a valid CIDR prefix such as 10.0.0.0/8 or fd00::/8")
		}
		p = p.Masked()
	} else {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
		}
		if a.Zone() != "" {
			return netip.Prefix{}, errors.New("an IPv6 zone is not allowed")
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	if p.Addr().Is4In6() && p.Bits() >= 96 {
		p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
	}
	return p, nil
}

func (l *loader) cookieSecure() bool {
	v, ok := l.value("COOKIE_SECURE")
	if !ok {
		// SECURITY(cookie): Secure by default, so the cookie never crosses
		// the network in clear text; browsers still take it from
		// localhost over plain HTTP, for the demo — ASVS 5.0 3.3.1.
		return true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		l.fail("COOKIE_SECURE", v, "must be true or false")
		return true
	}
	return b
}

func (l *loader) bcryptCost() int {
	v, ok := l.value("BCRYPT_COST")
	if !ok {
		return defaultBcryptCost
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail("BCRYPT_COST", v, "must be an integer")
	case n < minBcryptCost:
		// SECURITY(passwords): a cost below 10 is refused — ASVS 5.0 11.4.2.
		l.fail("BCRYPT_COST", v, fmt.Sprintf("must be at least %d (OWASP Password Storage Cheat Sheet)", minBcryptCost))
	case n > bcrypt.MaxCost:
		l.fail("BCRYPT_COST", v, fmt.Sprintf("must be at most %d (bcrypt.MaxCost)", bcrypt.MaxCost))
	default:
		return n
	}
	return defaultBcryptCost
}

// count parses a whole number between 1 and maxValue.
func (l *loader) count(name string, def, maxValue int) int {
	v, ok := l.value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail(name, v, "must be a whole number")
	case n < 1:
		// SECURITY(throttling): zero would switch a limit off; a limit can
		// be raised, never disabled — ASVS 5.0 6.3.1.
		l.fail(name, v, "must be at least 1")
	case n > maxValue:
		l.fail(name, v, fmt.Sprintf("must be at most %d", maxValue))
	default:
		return n
	}
	return def
}

// between reads a whole number in [lo, hi], where 0 may be meaningful.
func (l *loader) between(name string, def, lo, hi int) int {
	v, ok := l.value(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		l.fail(name, v, "must be a whole number")
	case n < lo || n > hi:
		l.fail(name, v, fmt.Sprintf("must be between %d and %d", lo, hi))
	default:
		return n
	}
	return def
}

// BCRYPT_WORKERS values.
const (
	BcryptInProcesses = "process"
	BcryptInThreads   = "thread"
)

func (l *loader) bcryptWorkers() string {
	v, ok := l.value("BCRYPT_WORKERS")
	if !ok {
		return BcryptInProcesses
	}
	if v != BcryptInProcesses && v != BcryptInThreads {
		l.fail("BCRYPT_WORKERS", v, "must be process or thread")
	}
	return v
}

func (l *loader) logFormat() string {
	v, ok := l.value("LOG_FORMAT")
	if !ok {
		return defaultLogFormat
	}
	if v != "text" && v != "json" {
		l.fail("LOG_FORMAT", v, "must be text or json")
	}
	return v
}

func (l *loader) logLevel() slog.Level {
	v, ok := l.value("LOG_LEVEL")
	if !ok {
		return slog.LevelInfo
	}
	switch strings.ToLower(v) {
	case "info":
		return slog.LevelInfo
	case "debug":
		return slog.LevelDebug
	}
	l.fail("LOG_LEVEL", v, "must be info or debug")
	return slog.LevelInfo
}

// labAttackerAddr is the attack lab's second listener, off by default;
// `make demo` sets it on loopback.
//
// SECURITY(deployment): a deployed fork serves no attacker site unless
// told to — ASVS 5.0 15.2.3.
func (l *loader) labAttackerAddr(appAddr string) string {
	v, ok := l.value("LAB_ATTACKER_ADDR")
	if !ok {
		return ""
	}
	host, port, err := net.SplitHostPort(v)
	if err != nil || port == "" || host == "" {
		l.fail("LAB_ATTACKER_ADDR", v, `must be host:port on another host name than the app's, e.g. "127.0.0.1:8081" while ADDR is "localhost:8080"`)
		return ""
	}
	if appHost, _, err := net.SplitHostPort(appAddr); err == nil && strings.EqualFold(appHost, host) {
		l.fail("LAB_ATTACKER_ADDR", v, "must use another host name than ADDR ("+appAddr+"): the attacker site must be another site to the browser, and a site ignores ports")
		return ""
	}
	return v
}

// shutdownDelay is how long a stopping process keeps serving while
// /healthz reports it as going away, so a proxy's health check takes it out
// of rotation before the listener closes (0 when nothing checks it).
func (l *loader) shutdownDelay() time.Duration {
	v, ok := l.value("SHUTDOWN_DELAY")
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > time.Minute {
		l.fail("SHUTDOWN_DELAY", v, `must be a duration between 0s and 1m, e.g. "5s"`)
		return 0
	}
	return d
}

// parseDatabaseURL splits a DATABASE_URL into dialect and driver DSN.
func parseDatabaseURL(raw string) (dialect, dsn string, err error) {
	switch {
	case strings.HasPrefix(raw, "sqlite:"):
		path := raw[len("sqlite:"):]
		if path == "" {
			return "", "", errors.New("sqlite: needs a file path, e.g. sqlite:data/sessionlab.db")
		}
		// "sqlite://data/x.db" would silently mean the absolute path /data/x.db.
		if strings.HasPrefix(path, "//") {
			return "", "", errors.New("write sqlite:PATH (sqlite:data/sessionlab.db or sqlite:/var/lib/sessionlab.db), not sqlite://")
		}
		return "sqlite", path, nil
	case strings.HasPrefix(raw, "postgres://"), strings.HasPrefix(raw, "postgresql://"):
		u, err := url.Parse(raw)
		if err != nil {
			return "", "", urlError(err)
		}
		if err := checkHostPort(u, "postgres://user:password@localhost:5432/sessionlab"); err != nil {
			return "", "", err
		}
		return "postgres", raw, nil
	}
	return "", "", errors.New("must be sqlite:PATH or a postgres:// (postgresql://) URL")
}

// checkRedisURL accepts redis:// and rediss:// URLs with a host and an
// optional database number as the path.
func checkRedisURL(raw string) error {
	if !strings.HasPrefix(raw, "redis://") && !strings.HasPrefix(raw, "rediss://") {
		return errors.New("must be a redis:// or rediss:// URL, e.g. redis://localhost:6379/0")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return urlError(err)
	}
	if err := checkHostPort(u, "redis://localhost:6379/0"); err != nil {
		return err
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if strings.ContainsFunc(db, func(r rune) bool { return r < '0' || r > '9' }) {
			return errors.New("the path must be a database number, e.g. /0")
		}
		if _, err := strconv.Atoi(db); err != nil {
			return errors.New("the database number is out of range")
		}
	}
	return nil
}

// checkHostPort requires a host name and, when a port is given, a port in range.
func checkHostPort(u *url.URL, example string) error {
	if u.Hostname() == "" {
		return fmt.Errorf("needs a host, e.g. %s", example)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return errors.New("the port must be between 1 and 65535")
		}
	}
	return nil
}

// urlError explains a url.Parse failure without repeating the URL, which
// may hold a password.
func urlError(err error) error {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return errors.New("not a valid URL: bad percent-encoding (percent-encode special characters in the user name and password)")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("not a valid URL: %v", ue.Err)
	}
	return errors.New("not a valid URL")
}

// passwordParam matches password=... in a URL query or a key=value DSN,
// wherever it stands: not only after a word boundary, since a mistyped
// value ("xpassword=…") may still hold a password. Masking too much is
// harmless; too little is not.
var passwordParam = regexp.MustCompile(`(?i)((?:ssl)?pass(?:word)?\s*=\s*)('[^']*'|[^\s&;]+)`)

// Redact masks the password of a URL's user info and any password=
// parameter (of a URL or a key=value DSN), for values that are shown in
// error messages; it needs no valid URL. internal/database uses it too.
// Start-up errors end up in logs and CI output.
//
// SECURITY(logging): no database or Redis password reaches a log line —
// ASVS 5.0 16.2.5.
func Redact(s string) string {
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+len("://"):]
		// The last "@" of the whole rest, not of the authority: when in
		// doubt, mask too much rather than too little.
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			user := rest[:at]
			if c := strings.IndexByte(user, ':'); c >= 0 {
				user = user[:c+1] + "xxxxx"
			}
			s = s[:i+len("://")] + user + rest[at:]
		}
	}
	return passwordParam.ReplaceAllString(s, "${1}xxxxx")
}

// display quotes a value when printing it bare would be ambiguous.
func display(v string) string {
	if v == "" || strings.ContainsFunc(v, func(r rune) bool {
		return unicode.IsSpace(r) || !unicode.IsPrint(r) || r == '"' || r == '\\'
	}) {
		return strconv.Quote(v)
	}
	return v
}

// ShortDuration prints 30m rather than 30m0s, 12h rather than 12h0m0s:
// how durations are shown in errors, the start-up line and pages.
func ShortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
