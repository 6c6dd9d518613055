// Command sessioncheck verifies, from outside, that a Session Lab
// deployment (or a fork of it) still has its session-management practices:
//
//	go run ./cmd/sessioncheck -url http://localhost:8080
//
// It speaks HTTP only, through the public pages and forms of the README's
// route table (/signup, /login, /profile, /logout, /sessions,
// /account/password, /healthz), and imports nothing from the application,
// so it works against any deployment that keeps those routes and form
// fields. By default it signs up a throwaway account (and deletes it at the
// end); -email and -password, or SESSIONCHECK_EMAIL and
// SESSIONCHECK_PASSWORD, use an existing one instead.
//
// Each check names the OWASP ASVS 5.0 requirement it covers. Checks that
// change state or take time run only when asked for: -throttle, -idle,
// -source-ip, -revoke, -password-change (-all turns on those without a
// value). The result is a table, or JSON with -json; the exit status is 0
// when every check that ran passed, 1 when one failed, 2 on a usage error
// or when the run could not complete (connection error, deadline, request
// budget). Tokens and passwords are never printed: evidence shows lengths,
// SHA-256 prefixes and attribute names.
//
// It refuses targets that are not on a loopback address unless
// -allow-remote is given: pointing it at a deployment is a deliberate act.
package main

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// Exit statuses.
const (
	exitOK     = 0 // every check that ran passed
	exitFailed = 1 // at least one check failed
	exitError  = 2 // usage error, or the run could not complete
)

// options is the command line, validated.
type options struct {
	target   *url.URL
	email    string // given account; empty: a throwaway account is signed up
	password string
	jsonOut  bool

	throttle         bool
	throttleAttempts int
	idle             time.Duration
	sourceIP         netip.Addr
	revoke           bool
	passwordChange   bool

	allowRemote bool
	timeout     time.Duration // per request
	deadline    time.Duration // the whole run, not counting the -idle wait
	maxRequests int
	lifetime    time.Duration
	roots       *x509.CertPool
	cookieName  string
	keepAccount bool
}

const usageHead = `usage: sessioncheck [flags]

Checks a running Session Lab deployment from outside, over HTTP only.

  go run ./cmd/sessioncheck -url http://localhost:8080
  go run ./cmd/sessioncheck -url http://localhost:8080 -all -idle 31m -source-ip 127.0.0.2

Credentials: by default a throwaway account is signed up and deleted at the
end. To use an existing account set SESSIONCHECK_EMAIL and
SESSIONCHECK_PASSWORD (or -email and -password; a flag is visible to other
users of the machine in the process list). The URL may also come from
SESSIONCHECK_URL.

Exit status: 0 every check that ran passed, 1 a check failed, 2 usage error
or the run could not complete (connection error, deadline, request budget).

flags:
`

// errUsagePrinted is a flag error the flag package has already reported.
var errUsagePrinted = errors.New("invalid flags")

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("sessioncheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageHead)
		fs.PrintDefaults()
	}
	defURL := getenv("SESSIONCHECK_URL")
	if defURL == "" {
		defURL = "http://localhost:8080"
	}
	rawURL := fs.String("url", defURL, "base URL of the deployment (env SESSIONCHECK_URL)")
	email := fs.String("email", getenv("SESSIONCHECK_EMAIL"), "email of an existing account (env SESSIONCHECK_EMAIL); empty: sign up a throwaway account")
	password := fs.String("password", "", "password of that account (prefer env SESSIONCHECK_PASSWORD)")
	jsonOut := fs.Bool("json", false, "print the report as JSON")
	throttle := fs.Bool("throttle", false, "opt-in: failed logins on one (unknown) account must meet 429 with Retry-After [ASVS 6.3.1]")
	throttleAttempts := fs.Int("throttle-attempts", 30, "failed logins -throttle may try before it fails (1-200)")
	idle := fs.Duration("idle", 0, "opt-in: leave a session unused this long; it must then be gone — longer than the deployment's idle timeout [ASVS 7.3.1]")
	sourceIP := fs.String("source-ip", "", "opt-in: replay a session cookie from this local source address (e.g. 127.0.0.2); it must be refused [ASVS 8.2.4]")
	revoke := fs.Bool("revoke", false, "opt-in: end a session, then all others, through /sessions [ASVS 7.5.2]")
	passwordChange := fs.Bool("password-change", false, "opt-in: a password change (of a second throwaway account) renews the token and ends the other sessions [ASVS 7.4.3, 7.2.4]")
	all := fs.Bool("all", false, "turn on -throttle, -revoke and -password-change (-idle and -source-ip need values)")
	allowRemote := fs.Bool("allow-remote", false, "allow a target that is not on a loopback address")
	timeout := fs.Duration("timeout", 10*time.Second, "per-request timeout")
	deadline := fs.Duration("deadline", 3*time.Minute, "deadline of the whole run, not counting the -idle wait")
	maxRequests := fs.Int("max-requests", 600, "the most requests the run may send")
	lifetime := fs.Duration("lifetime", 12*time.Hour, "the deployment's absolute session lifetime (SESSION_LIFETIME): the bound on a remembered cookie's Max-Age")
	caFile := fs.String("cacert", "", "PEM file of CA certificates to trust for an https target (default: the system's roots)")
	cookieName := fs.String("cookie", "", "session cookie name (default: detected; __Host-session, or session when COOKIE_SECURE=false)")
	keepAccount := fs.Bool("keep-account", false, "do not delete the throwaway accounts at the end")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return options{}, err
		}
		return options{}, errUsagePrinted
	}
	if fs.NArg() > 0 {
		return options{}, fmt.Errorf("unexpected argument %q (flags only; see -h)", fs.Arg(0))
	}
	o := options{
		email: strings.TrimSpace(*email), password: *password, jsonOut: *jsonOut,
		throttle: *throttle || *all, throttleAttempts: *throttleAttempts, idle: *idle,
		revoke: *revoke || *all, passwordChange: *passwordChange || *all,
		allowRemote: *allowRemote, timeout: *timeout, deadline: *deadline, maxRequests: *maxRequests,
		lifetime: *lifetime, cookieName: *cookieName, keepAccount: *keepAccount,
	}
	if o.password == "" {
		o.password = getenv("SESSIONCHECK_PASSWORD")
	}
	u, err := url.Parse(strings.TrimSpace(*rawURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return options{}, fmt.Errorf("-url %q: want http:// or https://host[:port][/path], without credentials, query or fragment", *rawURL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	o.target = u
	switch {
	case (o.email == "") != (o.password == ""):
		return options{}, errors.New("give both an email and a password (SESSIONCHECK_EMAIL and SESSIONCHECK_PASSWORD), or neither for a throwaway account")
	case o.throttleAttempts < 1 || o.throttleAttempts > 200:
		return options{}, fmt.Errorf("-throttle-attempts %d: want 1-200", o.throttleAttempts)
	case o.idle < 0 || o.idle > 24*time.Hour:
		return options{}, fmt.Errorf("-idle %s: want 0 (off) up to 24h", o.idle)
	case o.timeout < 100*time.Millisecond || o.timeout > 5*time.Minute:
		return options{}, fmt.Errorf("-timeout %s: want 100ms-5m", o.timeout)
	case o.deadline < time.Second || o.deadline > time.Hour:
		return options{}, fmt.Errorf("-deadline %s: want 1s-1h", o.deadline)
	case o.maxRequests < 50 || o.maxRequests > 100000:
		return options{}, fmt.Errorf("-max-requests %d: want 50-100000", o.maxRequests)
	case o.lifetime <= 0:
		return options{}, fmt.Errorf("-lifetime %s: want a positive duration", o.lifetime)
	}
	if *sourceIP != "" {
		a, err := netip.ParseAddr(*sourceIP)
		if err != nil {
			return options{}, fmt.Errorf("-source-ip %q: not an IP address", *sourceIP)
		}
		o.sourceIP = a.Unmap()
	}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return options{}, fmt.Errorf("-cacert: %w", err)
		}
		o.roots = x509.NewCertPool()
		if !o.roots.AppendCertsFromPEM(pem) {
			return options{}, fmt.Errorf("-cacert %s: no PEM certificate in it", *caFile)
		}
	}
	return o, nil
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	opts, err := parseFlags(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errUsagePrinted) {
		return exitError // the flag package said what was wrong
	}
	if err != nil {
		fmt.Fprintln(stderr, "sessioncheck:", err)
		return exitError
	}
	if err := checkTarget(ctx, opts); err != nil {
		fmt.Fprintln(stderr, "sessioncheck:", err)
		return exitError
	}
	rep, err := check(ctx, opts, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "sessioncheck:", err)
		return exitError
	}
	if opts.jsonOut {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			fmt.Fprintln(stderr, "sessioncheck:", err)
			return exitError
		}
	} else {
		writeTable(stdout, rep)
	}
	return rep.exitCode()
}

// Result statuses.
const (
	statusPass = "pass"
	statusFail = "fail"
	statusSkip = "skipped"
)

// result is one check's outcome.
type result struct {
	Check    string `json:"check"`
	ASVS     string `json:"asvs"`
	Title    string `json:"title"`
	OptIn    string `json:"opt_in,omitempty"` // the flag that turns it on
	Status   string `json:"status"`
	Evidence string `json:"evidence"`
}

// report is the whole run.
type report struct {
	Target     string   `json:"target"`
	Account    string   `json:"account"` // "throwaway" or "given"
	Cookie     string   `json:"cookie"`
	Results    []result `json:"checks"`
	Passed     int      `json:"passed"`
	Failed     int      `json:"failed"`
	Skipped    int      `json:"skipped"`
	Requests   int      `json:"requests"`
	DurationMS int64    `json:"duration_ms"`
	// Incomplete says why the run stopped early (connection error,
	// deadline, request budget); the checks it did not reach are skipped.
	Incomplete string   `json:"incomplete,omitempty"`
	Notes      []string `json:"notes,omitempty"`
}

func (r *report) exitCode() int {
	switch {
	case r.Incomplete != "":
		return exitError
	case r.Failed > 0:
		return exitFailed
	}
	return exitOK
}

// result returns the result of the check named id (nil when absent).
func (r *report) result(id string) *result {
	for i := range r.Results {
		if r.Results[i].Check == id {
			return &r.Results[i]
		}
	}
	return nil
}

func writeTable(w io.Writer, rep *report) {
	fmt.Fprintf(w, "sessioncheck %s — %s account, session cookie %s, %d requests in %.1fs\n\n",
		rep.Target, rep.Account, rep.Cookie, rep.Requests, float64(rep.DurationMS)/1000)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CHECK\tASVS 5.0\tRESULT\tEVIDENCE")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Check, r.ASVS, strings.ToUpper(r.Status), oneLine(r.Evidence))
	}
	tw.Flush()
	fmt.Fprintln(w)
	for _, n := range rep.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	if rep.Incomplete != "" {
		fmt.Fprintln(w, "incomplete:", rep.Incomplete)
	}
	fmt.Fprintf(w, "%d passed, %d failed, %d skipped\n", rep.Passed, rep.Failed, rep.Skipped)
}

// oneLine keeps evidence on one line of the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
