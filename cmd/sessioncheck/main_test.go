package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

func getenvFrom(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func runMain(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, getenvFrom(env), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestRun_UsageAndConnectionErrorsExitWith2(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()

	cases := []struct {
		name string
		env  map[string]string
		args []string
		want string // in stderr
	}{
		{"unknown flag", nil, []string{"-bogus"}, "flag provided but not defined"},
		{"argument", nil, []string{"-url", closed, "extra"}, "unexpected argument"},
		{"not http", nil, []string{"-url", "ftp://127.0.0.1/"}, "-url"},
		{"credentials in the URL", nil, []string{"-url", "http://u:p@127.0.0.1/"}, "-url"},
		{"remote target", nil, []string{"-url", "http://192.0.2.10:8080"}, "not a loopback address: give -allow-remote"},
		{"email without password", map[string]string{"SESSIONCHECK_EMAIL": "a@example.com"}, []string{"-url", closed}, "give both an email and a password"},
		{"bad source ip", nil, []string{"-url", closed, "-source-ip", "nope"}, "-source-ip"},
		{"bad attempts", nil, []string{"-url", closed, "-throttle-attempts", "0"}, "-throttle-attempts"},
		{"missing CA file", nil, []string{"-url", closed, "-cacert", "/nonexistent/ca.pem"}, "-cacert"},
		{"nothing listening", nil, []string{"-url", closed}, "cannot reach"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.env, tc.args...)
			if code != exitError {
				t.Errorf("exit %d, want 2\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr %q does not say %q", stderr, tc.want)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
		})
	}
	if code, _, stderr := runMain(t, nil, "-h"); code != exitOK || !strings.Contains(stderr, "usage: sessioncheck") {
		t.Errorf("-h: exit %d, stderr %q", code, stderr)
	}
}

func TestCheckTarget_OnlyLoopbackUnlessAllowed(t *testing.T) {
	for _, tc := range []struct {
		url    string
		remote bool
		ok     bool
	}{
		{"http://127.0.0.1:8080", false, true},
		{"http://[::1]:8080", false, true},
		{"http://localhost:8080", false, true},
		{"http://192.0.2.10", false, false},
		{"https://[2001:db8::1]/", false, false},
		{"http://192.0.2.10", true, true},
	} {
		u, _ := url.Parse(tc.url)
		err := checkTarget(context.Background(), options{target: u, allowRemote: tc.remote})
		if (err == nil) != tc.ok {
			t.Errorf("%s (allow-remote %t): %v", tc.url, tc.remote, err)
		}
	}
}

// signUp makes an account on the app by hand (the way a user would have
// one already), for the run with given credentials.
func signUp(t *testing.T, base, email, password string) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := client.Get(base + "/signup")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfValue.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf_token on /signup")
	}
	form := url.Values{"csrf_token": {string(m[1])}, "email": {email}, "password": {password}}
	req, _ := http.NewRequest(http.MethodPost, base+"/signup", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range res.Cookies() {
		req.AddCookie(c)
	}
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-up: %d", res.StatusCode)
	}
}

var summaryLine = regexp.MustCompile(`(?m)^(\d+) passed, (\d+) failed, (\d+) skipped\n\z`)

// The table, the summary line and the exit status; and no password or
// session token anywhere in what the command prints, though the proxy saw
// every one of them pass.
func TestRun_TableSummaryAndNoSecretPrinted(t *testing.T) {
	a := variantApp(t, "")
	p := newProxy(t, a, false, func(*proxy) {})
	email, password := "given-"+randomHex(4)+"@example.com", "a given password, "+randomText(12)
	signUp(t, a.url, email, password)
	env := map[string]string{"SESSIONCHECK_URL": p.url(), "SESSIONCHECK_EMAIL": email, "SESSIONCHECK_PASSWORD": password}

	code, stdout, stderr := runMain(t, env, "-revoke", "-password-change", "-source-ip", "127.0.0.2")
	if code != exitOK {
		t.Fatalf("exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	m := summaryLine.FindStringSubmatch(stdout)
	if m == nil {
		t.Fatalf("no summary line at the end:\n%s", stdout)
	}
	if m[2] != "0" || m[3] != "3" { // -throttle and -idle not requested; hsts over http
		t.Errorf("summary %q, want 0 failed and 3 skipped\n%s", m[0], stdout)
	}
	if !strings.Contains(stdout, "given account") || !strings.Contains(stdout, "CHECK") || !strings.Contains(stdout, "ASVS 5.0") {
		t.Errorf("no header or table:\n%s", stdout)
	}
	for _, d := range checks {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(d.id) + `\s+` + regexp.QuoteMeta(d.asvs) + `\s+(PASS|SKIPPED)\s+\S`).MatchString(stdout) {
			t.Errorf("no table row for %s [%s] with evidence", d.id, d.asvs)
		}
	}
	secrets := p.secrets()
	if len(secrets) < 10 {
		t.Fatalf("the proxy saw only %d secrets", len(secrets))
	}
	for _, s := range secrets {
		if strings.Contains(stdout, s) || strings.Contains(stderr, s) {
			t.Errorf("a secret (%d chars, %s) is in the output", len(s), fingerprint(s))
		}
	}
	if strings.Contains(stdout+stderr, password) {
		t.Error("the given password is in the output")
	}
}

func TestRun_JSONAndExitStatus1OnAFailure(t *testing.T) {
	a := variantApp(t, "")
	p := newProxy(t, a, false, editSession(func(c *http.Cookie) { c.HttpOnly = false }))
	code, stdout, stderr := runMain(t, nil, "-url", p.url(), "-json")
	if code != exitFailed {
		t.Fatalf("exit %d, want 1\n%s\n%s", code, stdout, stderr)
	}
	var rep report
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	var failed []string
	for _, r := range rep.Results {
		if r.Check == "" || r.ASVS == "" || r.Title == "" || r.Evidence == "" {
			t.Errorf("incomplete result %+v", r)
		}
		if r.Status == statusFail {
			failed = append(failed, r.Check)
		}
	}
	if len(failed) != 1 || failed[0] != "cookie-httponly" || rep.Failed != 1 {
		t.Errorf("failed %q (%d), want [cookie-httponly]", failed, rep.Failed)
	}
	if len(rep.Results) != len(checks) || rep.Passed+rep.Failed+rep.Skipped != len(checks) || rep.Requests == 0 {
		t.Errorf("report counts: %d results, %d+%d+%d, %d requests", len(rep.Results), rep.Passed, rep.Failed, rep.Skipped, rep.Requests)
	}
	if rep.Cookie != sessionCookie || rep.Account != "throwaway" {
		t.Errorf("cookie %q, account %q", rep.Cookie, rep.Account)
	}
}

// A run that runs out of its request budget stops, says so, skips the
// checks it did not reach and exits with 2.
func TestRun_RequestBudgetStopsTheRun(t *testing.T) {
	a := variantApp(t, "")
	code, stdout, _ := runMain(t, nil, "-url", a.url, "-max-requests", "50", "-keep-account")
	if code != exitError {
		t.Errorf("exit %d, want 2", code)
	}
	if !strings.Contains(stdout, "incomplete: the request budget (-max-requests 50) is spent") || !strings.Contains(stdout, "not run: the request budget") {
		t.Errorf("the output does not say the budget stopped the run:\n%s", stdout)
	}
}

func TestDecodeToken(t *testing.T) {
	for _, tc := range []struct {
		tok  string
		bits int
		enc  string
	}{
		{strings.Repeat("ab", 16), 128, "hex"},
		{"ZZzGF0s7wbZbcF8gHR1rYUOhh0ABSGLDSETmpTGsnBY", 256, "base64url"},
		{"ZZzGF0s7wbZbcF8g", 96, "base64url"},
		{"not a token!", 0, ""},
	} {
		b, enc := decodeToken(tc.tok)
		if 8*len(b) != tc.bits || enc != tc.enc {
			t.Errorf("decodeToken(%q) = %d bits %q, want %d %q", tc.tok, 8*len(b), enc, tc.bits, tc.enc)
		}
	}
	if d := hamming([]byte{0xff, 0x00}, []byte{0x0f, 0x01}); d != 5 {
		t.Errorf("hamming = %d, want 5", d)
	}
}

func TestCSPProblem(t *testing.T) {
	const good = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
	for _, tc := range []struct {
		csp, want string
	}{
		{good, ""},
		{"default-src 'self'; object-src 'none'; base-uri 'self'", ""},
		{"", "no Content-Security-Policy"},
		{strings.Replace(good, "script-src 'self'", "script-src 'self' 'unsafe-inline'", 1), "allows 'unsafe-inline'"},
		{strings.Replace(good, "script-src 'self'", "script-src 'self' 'unsafe-eval'", 1), "allows 'unsafe-eval'"},
		{strings.Replace(good, "script-src 'self'", "script-src https:", 1), "no script-src"},
		{strings.Replace(good, "object-src 'none'; ", "", 1), "no object-src"},
		{strings.Replace(good, "base-uri 'none'; ", "", 1), "no base-uri"},
	} {
		h := http.Header{}
		if tc.csp != "" {
			h.Set("Content-Security-Policy", tc.csp)
		}
		if got := cspProblem(h); (tc.want == "" && got != "") || !strings.Contains(got, tc.want) {
			t.Errorf("cspProblem(%q) = %q, want %q", tc.csp, got, tc.want)
		}
	}
}

func TestNormalise_RemovesTokenAndEmailOnly(t *testing.T) {
	a := normalise([]byte(`<input type="hidden" name="csrf_token" value="AAA"><p>a@x.io</p>`), "a@x.io")
	b := normalise([]byte(`<input type="hidden" name="csrf_token" value="BBB"><p>b@x.io</p>`), "b@x.io")
	if !bytes.Equal(a, b) {
		t.Errorf("%s != %s", a, b)
	}
	c := normalise([]byte(`<input type="hidden" name="csrf_token" value="BBB"><p>No such account</p>`), "b@x.io")
	if bytes.Equal(a, c) {
		t.Error("different messages normalised to the same body")
	}
}

func TestCookieDeleted(t *testing.T) {
	for raw, want := range map[string]bool{
		"s=v; Path=/":     false,
		"s=v; Max-Age=60": false,
		"s=; Max-Age=0":   true,
		"s=v; Max-Age=0":  true,
		"s=v; Expires=Thu, 01 Jan 1970 00:00:01 GMT": true,
		"s=": true,
	} {
		c, err := http.ParseSetCookie(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got := cookieDeleted(c); got != want {
			t.Errorf("cookieDeleted(%q) = %t", raw, got)
		}
	}
}
