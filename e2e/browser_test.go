//go:build e2e

package e2e

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// chromiumPath is Debian's Chromium (apt-get install chromium).
const chromiumPath = "/usr/bin/chromium"

const (
	// testTimeout bounds all the browser steps of one test, so a page that
	// never loads fails the test instead of hanging CI.
	testTimeout = 60 * time.Second
	// grace is what is left after testTimeout to save the failure
	// artifacts and close Chromium; then the browser is killed.
	grace = 15 * time.Second
)

// browser is one Chromium, with a fresh profile, and its tab; or, made by
// otherDevice, another tab of that Chromium with a cookie jar of its own.
type browser struct {
	t        *testing.T
	name     string // "" for the first tab; names the artifacts of others
	tab      context.Context
	deadline time.Time

	started bool // Chromium answered, so there is a page to save on failure

	mu      sync.Mutex
	console []string // console calls, uncaught exceptions, error-level browser log entries
}

// requireChromium skips t (fails it in CI, see testenv.Unavailable) when
// Chromium is not installed.
func requireChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		testenv.Unavailable(t, "Chromium", fmt.Errorf("%w (install it with: apt-get install chromium)", err))
	}
}

// newBrowser starts Chromium for t and closes it when t ends. When t
// fails, the screenshot, the HTML and the address of the page the tab shows
// then are saved (see saveArtifacts).
func newBrowser(t *testing.T) *browser {
	t.Helper()
	requireChromium(t)
	b := &browser{t: t, deadline: time.Now().Add(testTimeout)}

	// Not t.Context(): it is cancelled before the cleanups run, and the
	// cleanups still need the browser to save the artifacts of a failure.
	root, cancelRoot := context.WithDeadline(context.Background(), b.deadline.Add(grace))
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // CI runs as root, where Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// Without these, Chromium keeps trying to reach Google's services,
		// which floods a closed network with refused connections.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		// A fresh profile: no cookie, cache or history from another test.
		chromedp.UserDataDir(t.TempDir()),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(root, opts...)
	tab, cancelTab := chromedp.NewContext(allocCtx, chromedp.WithListener(b.record))
	b.tab = tab
	// Cleanups run last-registered first: the artifacts are saved while
	// the browser still runs, then Chromium is closed, then (registered
	// earlier by t.TempDir) its profile directory is removed.
	t.Cleanup(func() {
		// A graceful close lets Chromium's helper processes exit before
		// the profile directory goes away.
		ctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		if err := chromedp.Cancel(ctx); err != nil {
			t.Logf("close Chromium: %v", err)
		}
		cancelTab()
		cancelAlloc()
		cancelRoot()
	})
	t.Cleanup(b.saveArtifacts)

	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("start Chromium: %v", err)
	}
	b.started = true
	return b
}

// otherDevice opens a tab in a browser context of its own (as a private
// window is): no cookie, cache or history shared with b. It plays the same
// person's other device.
func (b *browser) otherDevice(name string) *browser {
	b.t.Helper()
	o := &browser{t: b.t, name: name, deadline: b.deadline}
	tab, cancel := chromedp.NewContext(b.tab, chromedp.WithNewBrowserContext(), chromedp.WithListener(o.record))
	o.tab = tab
	// Runs before b's cleanups, which close Chromium.
	b.t.Cleanup(cancel)
	b.t.Cleanup(o.saveArtifacts)
	if err := chromedp.Do(tab); err != nil {
		b.t.Fatalf("open the %s's tab: %v", name, err)
	}
	o.started = true
	return o
}

// record keeps what a developer would see as a problem in the DevTools
// console. It runs in chromedp's event loop, so it only appends.
func (b *browser) record(ev any) {
	var msg string
	switch ev := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		// Session Lab's pages have no script of their own, so any console
		// call at all is news.
		args := make([]string, 0, len(ev.Args))
		for _, a := range ev.Args {
			if len(a.Value) > 0 {
				args = append(args, string(a.Value))
			} else {
				args = append(args, a.Description)
			}
		}
		msg = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
	case *runtime.EventExceptionThrown:
		d := ev.ExceptionDetails
		msg = fmt.Sprintf("uncaught exception: %s at %s:%d", d.Text, d.URL, d.LineNumber+1)
		if d.Exception != nil && d.Exception.Description != "" {
			msg += ": " + d.Exception.Description
		}
	case *cdplog.EventEntryAdded:
		// Failed subresources (a 404 favicon, a blocked stylesheet), CSP
		// reports and other browser-side errors arrive here.
		e := ev.Entry
		if e.Level != cdplog.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("%s (%s): %s", e.Level, e.Source, e.Text)
		if e.URL != "" {
			msg += " [" + e.URL + "]"
		}
	default:
		return
	}
	b.mu.Lock()
	b.console = append(b.console, msg)
	b.mu.Unlock()
}

// consoleMessages is what record kept so far.
func (b *browser) consoleMessages() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.console...)
}

// do runs steps in the tab; an error ends the test.
func (b *browser) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithDeadline(b.tab, b.deadline)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// get runs one action that returns a value; an error ends the test.
func get[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithDeadline(b.tab, b.deadline)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

// open goes to url as if typed in the address bar, and returns the
// response of the page it ends on (after redirects).
func (b *browser) open(url string) *network.Response {
	b.t.Helper()
	return get(b, "open "+url, chromedp.NavigateResponse(url))
}

// click clicks the first element matching the CSS selector sel, waits for
// the page that follows, and returns its response (after redirects).
func (b *browser) click(what, sel string) *network.Response {
	b.t.Helper()
	ctx, cancel := context.WithDeadline(b.tab, b.deadline)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("%s (click %s): %v", what, sel, err)
	}
	return res
}

// back goes one entry back in the tab's history, as the Back button does.
// A page restored from the back/forward cache fires no load event, so it
// waits for one only briefly: what the tab then shows is for the test to
// judge.
func (b *browser) back() {
	b.t.Helper()
	ctx, cancel := context.WithDeadline(b.tab, b.deadline)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		if !errors.Is(err, context.DeadlineExceeded) {
			b.t.Fatalf("go back: %v", err)
		}
		b.t.Log("go back: no page load followed; was the page restored from the back/forward cache?")
	}
}

// submitCredentials types email and password into the form matching sel,
// as a person would, and clicks its submit button.
func (b *browser) submitCredentials(sel, email, password string) *network.Response {
	b.t.Helper()
	b.do("fill in "+sel,
		chromedp.SendKeys(chromedp.CSS(sel+" #email"), email),
		chromedp.SendKeys(chromedp.CSS(sel+" #password"), password),
	)
	return b.click("submit "+sel, sel+` button[type="submit"]`)
}

const (
	signupForm = `form[action="/signup"]`
	loginForm  = `form[action="/login"]`
	logoutForm = `form.logout`
)

// signup creates an account through the sign-up form and expects to land
// on the profile, signed in.
func (b *browser) signup(a *app, email, password string) {
	b.t.Helper()
	b.open(a.URL + "/signup")
	b.submitCredentials(signupForm, email, password)
	b.mustShowProfile(a, email)
}

// login signs in through the login form and expects to land on the profile.
func (b *browser) login(a *app, email, password string) {
	b.t.Helper()
	b.open(a.URL + "/login")
	b.submitCredentials(loginForm, email, password)
	b.mustShowProfile(a, email)
}

// logout clicks the "Log out" button in the header and expects to land on
// the login page.
func (b *browser) logout(a *app) {
	b.t.Helper()
	b.click("log out", logoutForm+` button[type="submit"]`)
	b.mustShowLogin(a, "/login")
}

// eval evaluates a JavaScript expression that returns a string in the page.
func (b *browser) eval(expr string) string {
	b.t.Helper()
	return get(b, "evaluate "+expr, chromedp.Evaluate[string](expr))
}

// location is the address the tab shows.
func (b *browser) location() string {
	b.t.Helper()
	return b.eval(`location.href`)
}

// text is the visible text of the first element matching sel, "" when
// there is none. It does not wait: call it once the page has loaded.
func (b *browser) text(sel string) string {
	b.t.Helper()
	return b.eval(fmt.Sprintf(`document.querySelector(%q)?.innerText?.trim() ?? ""`, sel))
}

// mustShowProfile fails the test unless the tab shows the profile page of
// the user with this email.
func (b *browser) mustShowProfile(a *app, email string) {
	b.t.Helper()
	loc, h1, who := b.location(), b.text("h1"), b.text("header .who")
	if loc != a.URL+"/profile" || h1 != "Your profile" || who != email {
		b.t.Fatalf("want the profile of %s; the tab shows %s with heading %q, signed in as %q", email, loc, h1, who)
	}
}

// mustShowLogin fails the test unless the tab shows the login page at
// pathAndQuery, to an anonymous visitor.
func (b *browser) mustShowLogin(a *app, pathAndQuery string) {
	b.t.Helper()
	loc, h1, who := b.location(), b.text("h1"), b.text("header .who")
	if loc != a.URL+pathAndQuery || h1 != "Log in" || who != "" {
		b.t.Fatalf("want the login page %s to an anonymous visitor; the tab shows %s with heading %q, signed in as %q", pathAndQuery, loc, h1, who)
	}
}

// sessionCookie is the session cookie in the browser's cookie jar for the
// app, as the DevTools protocol reports it; nil when there is none.
func (b *browser) sessionCookie(a *app) *network.Cookie {
	b.t.Helper()
	res := get(b, "read the cookie jar", func(ctx context.Context, tab *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tab, network.GetCookies, network.GetCookiesParams{URLs: []string{a.URL + "/"}})
	})
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			return c
		}
	}
	return nil
}

// plantSessionCookie puts value in the jar as the app's session cookie,
// as an attacker who can write cookies for the victim's browser would.
func (b *browser) plantSessionCookie(a *app, value string) {
	b.t.Helper()
	yes := true
	b.do("plant a session cookie", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, network.SetCookie, network.SetCookieParams{
			Name:     cookieName,
			Value:    value,
			URL:      a.URL + "/",
			Path:     "/",
			Secure:   &yes,
			HTTPOnly: &yes,
			SameSite: network.CookieSameSiteStrict,
		})
		return err
	}))
}

// cspViolationsVar is where watchCSP's listener keeps the violations of
// the current document.
const cspViolationsVar = "__sessionlabCSPViolations"

// watchCSP makes every document the tab loads from now on record its
// securitypolicyviolation events (a blocked script, style, image, frame…),
// to be read with cspViolations before leaving the page. DevTools scripts
// are exempt from the page's CSP, so the listener itself cannot violate it.
func (b *browser) watchCSP() {
	b.t.Helper()
	src := `(() => {
	const seen = [];
	Object.defineProperty(window, "` + cspViolationsVar + `", {value: seen});
	document.addEventListener("securitypolicyviolation", (e) => {
		seen.push(e.violatedDirective + " blocked " + (e.blockedURI || "an inline resource") +
			" (" + e.disposition + ") at " + e.sourceFile + ":" + e.lineNumber);
	}, true);
})();`
	b.do("listen for CSP violations", chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: src})
		return err
	}))
}

// cspViolations returns the violations recorded in the current document.
// It fails the test when the listener of watchCSP is missing, so a check
// that silently watches nothing cannot pass.
func (b *browser) cspViolations() []string {
	b.t.Helper()
	return get(b, "read the CSP violations (is watchCSP on?)", chromedp.Evaluate[[]string]("window."+cspViolationsVar))
}

// artifactDirs remembers the directory made for a test without -artifacts.
var artifactDirs sync.Map // *testing.T → string

// artifactDir is where t's failure artifacts go. With `go test -artifacts`
// (as `make e2e` runs) it is t.ArtifactDir, under -outputdir; without it,
// t.ArtifactDir would be deleted when the test ends, so a directory of its
// own under the system temporary directory is made instead, and kept.
func artifactDir(t *testing.T) string {
	if f := flag.Lookup("test.artifacts"); f != nil && f.Value.String() == "true" {
		return t.ArtifactDir()
	}
	if dir, ok := artifactDirs.Load(t); ok {
		return dir.(string)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())
	dir, err := os.MkdirTemp("", "sessionlab-e2e-"+name+"-")
	if err != nil {
		t.Logf("make a directory for the artifacts: %v", err)
		return os.TempDir()
	}
	artifactDirs.Store(t, dir)
	return dir
}

// saveArtifacts writes, when the test failed, a screenshot and the HTML of
// what the tab shows, and the console messages, and prints their paths.
func (b *browser) saveArtifacts() {
	if !b.t.Failed() || !b.started {
		return
	}
	dir := artifactDir(b.t)
	ctx, cancel := context.WithTimeout(b.tab, 10*time.Second)
	defer cancel()
	save := func(name string, data []byte, err error) {
		if err != nil {
			b.t.Logf("could not capture %s: %v", name, err)
			return
		}
		if b.name != "" {
			name = b.name + "-" + name
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			b.t.Logf("write %s: %v", path, err)
			return
		}
		b.t.Logf("%s: %s", name, path)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	save("screenshot.png", png, err)
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err == nil {
		var html string
		html, err = chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		html = "<!-- " + loc + " -->\n" + html
		save("page.html", []byte(html), err)
	} else {
		save("page.html", nil, err)
	}
	save("console.txt", []byte(strings.Join(b.consoleMessages(), "\n")+"\n"), nil)
}
