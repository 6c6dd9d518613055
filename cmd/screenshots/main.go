// Command screenshots takes the README's screenshots (docs/images/*.png) of
// a running Session Lab and its attack lab, in headless Chromium driven
// through the DevTools protocol (chromedp), the way a learner would click
// through them.
//
// It starts nothing itself: it drives an app that already runs, with the
// attack lab on, and a fresh Chromium profile of its own (removed at the
// end). Start the app on a throwaway database, then run it:
//
//	mkdir -p /tmp/shots
//	ADDR=localhost:18080 LAB_ATTACKER_ADDR=127.0.0.1:18081 DATABASE_URL=sqlite:/tmp/shots/app.db go run ./cmd/web &
//	go run ./cmd/screenshots -app http://localhost:18080 -lab http://127.0.0.1:18081 -out docs/images
//
// It needs Chromium at /usr/bin/chromium (apt-get install chromium; or
// -chromium PATH) and nothing from the network. What it does, in order:
//
//  1. docs/images/home.png: the home page, anonymous.
//  2. Signs up learner@example.com (or logs in, when a previous run on the
//     same database created it). docs/images/practice-cookie.png:
//     /practices/cookie, signed in, from its "Live evidence" down (after
//     pressing its "Run document.cookie" button, when the page has one).
//  3. docs/images/csrf-refused.png: the app's refusal page after the
//     attacker site's "Forge: log out" button (a 403 that says why).
//  4. Checks the learner is still signed in.
//
// Each image is 1200 pixels wide and at most 900 high: the whole page
// (chromedp.FullScreenshot) when it fits the 1200×900 window, else the
// sections of it that fit, from the named one down. Before a page is
// captured, its HTML is checked not to contain the session token the
// browser holds: a screenshot shows only the short hash ids the app
// displays.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

const (
	width, height = 1200, 900
	cookieName    = "__Host-session" // the app's session cookie with COOKIE_SECURE=true, its default
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("screenshots: ")
	var o options
	flag.StringVar(&o.app, "app", "http://localhost:18080", "the app's URL, as the browser reaches it (a localhost name, so the Secure cookie works over plain HTTP)")
	flag.StringVar(&o.lab, "lab", "http://127.0.0.1:18081", "the attack lab's URL (LAB_ATTACKER_ADDR): another site than the app")
	flag.StringVar(&o.out, "out", "docs/images", "directory to write the PNG files to")
	flag.StringVar(&o.chromium, "chromium", "/usr/bin/chromium", "the Chromium binary")
	flag.StringVar(&o.email, "email", "learner@example.com", "the demo account's email (shown in the screenshots)")
	flag.StringVar(&o.password, "password", "a demo password for screenshots", "the demo account's password (never shown)")
	timeout := flag.Duration("timeout", 90*time.Second, "bound on the whole run")
	flag.Parse()
	o.app = strings.TrimSuffix(o.app, "/")
	o.lab = strings.TrimSuffix(o.lab, "/")

	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, o); err != nil {
		log.Fatal(err)
	}
}

type options struct {
	app, lab, out, chromium, email, password string
}

func run(ctx context.Context, o options) error {
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	profile, err := os.MkdirTemp("", "sessionlab-screenshots-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(profile)

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(o.chromium),
		chromedp.Headless,
		chromedp.NoSandbox, // as root (CI, containers) Chromium's sandbox cannot start
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		// No calls to Google's services: the network may be closed.
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(width, height),
	)...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(allocCtx)
	defer cancelTab()
	// A graceful close lets Chromium's helpers exit before the profile
	// directory goes away (deferred calls run last-registered first).
	defer chromedp.Cancel(tab)
	b := &browser{tab: tab, o: o}
	if err := chromedp.Do(tab, chromedp.EmulateViewport(width, height)); err != nil {
		return fmt.Errorf("start Chromium (%s): %w", o.chromium, err)
	}

	// 1. The home page, as a first-time visitor sees it.
	if err := b.open(o.app + "/"); err != nil {
		return err
	}
	if err := b.shoot("home.png", ""); err != nil {
		return err
	}

	// 2. An account, then the cookie practice with its live evidence.
	if err := b.signUpOrLogIn(); err != nil {
		return err
	}
	token, err := b.sessionCookie()
	if err != nil || token == "" {
		return fmt.Errorf("signed in, yet the browser holds no %s cookie (%v)", cookieName, err)
	}
	b.secrets = append(b.secrets, token)
	if err := b.open(o.app + "/practices/cookie"); err != nil {
		return err
	}
	if err := b.expect(o.app+"/practices/cookie", "dl.evidence", "What ends your session"); err != nil {
		return err
	}
	// The page's "Run document.cookie" button, when it has one, runs what
	// an injected script would and says whether the session cookie showed.
	if err := chromedp.Do(b.tab, chromedp.Evaluate[chromedp.Void](`document.getElementById("read-cookie")?.click()`)); err != nil {
		return err
	}
	if err := b.shoot("practice-cookie.png", "Live evidence"); err != nil {
		return err
	}

	// 3. CSRF from the attacker's site: the first form logs out.
	if err := b.open(o.lab + "/csrf"); err != nil {
		return err
	}
	res, err := b.click("forge: log out", `form[action$="/logout"] button`)
	if err != nil {
		return err
	}
	if res == nil || res.Status != http.StatusForbidden {
		return fmt.Errorf("the forged logout got %v, want the app's 403", status(res))
	}
	if err := b.expect(o.app+"/logout", "main", "This request was refused"); err != nil {
		return err
	}
	if err := b.shoot("csrf-refused.png", ""); err != nil {
		return err
	}

	// 4. The forged logout changed nothing.
	if err := b.open(o.app + "/profile"); err != nil {
		return err
	}
	if err := b.expect(o.app+"/profile", "header .who", o.email); err != nil {
		return fmt.Errorf("after the forged logout the learner should still be signed in: %w", err)
	}
	log.Printf("done: %s", o.out)
	return nil
}

func status(res *network.Response) string {
	if res == nil {
		return "no response"
	}
	return fmt.Sprint(res.Status)
}

// browser is the one tab the screenshots are taken in.
type browser struct {
	tab     context.Context
	o       options
	secrets []string // session tokens that must not appear on any captured page
}

func (b *browser) open(url string) error {
	if _, err := chromedp.Run(b.tab, chromedp.NavigateResponse(url)); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	return nil
}

// click clicks the first element matching sel and waits for the page
// that follows; it returns that page's response.
func (b *browser) click(what, sel string) (*network.Response, error) {
	ctx, cancel := context.WithTimeout(b.tab, 15*time.Second)
	defer cancel()
	res, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		return nil, fmt.Errorf("%s (click %s): %w", what, sel, err)
	}
	return res, nil
}

func (b *browser) submitCredentials(form string) error {
	if err := chromedp.Do(b.tab,
		chromedp.SendKeys(chromedp.CSS(form+" #email"), b.o.email),
		chromedp.SendKeys(chromedp.CSS(form+" #password"), b.o.password),
	); err != nil {
		return fmt.Errorf("fill in %s: %w", form, err)
	}
	_, err := b.click("submit "+form, form+` button[type="submit"]`)
	return err
}

// signUpOrLogIn signs the demo account up, or logs it in when a previous
// run on the same database created it already.
func (b *browser) signUpOrLogIn() error {
	if err := b.open(b.o.app + "/signup"); err != nil {
		return err
	}
	if err := b.submitCredentials(`form[action="/signup"]`); err != nil {
		return err
	}
	if b.expect(b.o.app+"/profile", "header .who", b.o.email) == nil {
		return nil
	}
	if err := b.open(b.o.app + "/login"); err != nil {
		return err
	}
	if err := b.submitCredentials(`form[action="/login"]`); err != nil {
		return err
	}
	return b.expect(b.o.app+"/profile", "header .who", b.o.email)
}

// expect checks that the tab shows url and that the text of the element
// matching sel contains want.
func (b *browser) expect(url, sel, want string) error {
	loc, err := chromedp.Run(b.tab, chromedp.Location())
	if err != nil {
		return err
	}
	text, err := chromedp.Run(b.tab, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ""`, sel)))
	if err != nil {
		return err
	}
	if loc != url || !strings.Contains(text, want) {
		return fmt.Errorf("want %s with %q in %s; the tab shows %s with %q", url, want, sel, loc, text)
	}
	return nil
}

// sessionCookie is the value of the app's session cookie in the jar ("" if
// none). It is only compared, never printed.
func (b *browser) sessionCookie() (string, error) {
	res, err := chromedp.Run(b.tab, func(ctx context.Context, t *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, t, network.GetCookies, network.GetCookiesParams{URLs: []string{b.o.app + "/"}})
	})
	if err != nil {
		return "", err
	}
	for _, c := range res.Cookies {
		if c.Name == cookieName {
			return c.Value, nil
		}
	}
	return "", nil
}

// shoot writes a PNG of the page: the whole page when it fits the window
// (chromedp.FullScreenshot), else the sections from the h2 with the text
// heading down, as many as fit (see section). It refuses to capture a page
// whose HTML contains a session token.
func (b *browser) shoot(name, heading string) error {
	html, err := chromedp.Run(b.tab, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		return err
	}
	for _, s := range b.secrets {
		if s != "" && strings.Contains(html, s) {
			return fmt.Errorf("%s: the page contains a session token; not capturing it", name)
		}
	}
	full, err := chromedp.Run(b.tab, chromedp.Evaluate[float64](`document.documentElement.scrollHeight`))
	if err != nil {
		return err
	}
	var png []byte
	if full <= height {
		png, err = chromedp.Run(b.tab, chromedp.FullScreenshot(100)) // 100: PNG
	} else {
		png, err = b.section(heading, full)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(png) == 0 {
		return errors.New(name + ": empty screenshot")
	}
	path := filepath.Join(b.o.out, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		return err
	}
	log.Printf("%s (%d KB)", path, len(png)/1024)
	return nil
}

// section captures a part of a page longer than the window: from a little
// above the h2 whose text is heading, width wide and up to height high,
// ending where the last section that fits ends (before the next h2, or
// the footer) so that no heading is cut off from its text.
func (b *browser) section(heading string, full float64) ([]byte, error) {
	if heading == "" {
		return nil, fmt.Errorf("the page is %.0f pixels high; name the heading to start from", full)
	}
	q, _ := json.Marshal(heading)
	box, err := chromedp.Run(b.tab, chromedp.Evaluate[[]float64](`(() => {
		const y = (el) => el.getBoundingClientRect().top + window.scrollY;
		const h = [...document.querySelectorAll("h2")].find(h => h.textContent.trim() === `+string(q)+`);
		if (!h) return [];
		const top = Math.max(0, y(h) - 24);
		let bottom = top + `+fmt.Sprint(height)+`;
		const ends = [...document.querySelectorAll("h2, footer")].map(y).filter(e => e > y(h) && e <= bottom);
		if (ends.length) bottom = Math.max(...ends) - 8;
		return [top, bottom - top]; })()`))
	if err != nil {
		return nil, err
	}
	if len(box) != 2 {
		return nil, fmt.Errorf("no heading %q on the page", heading)
	}
	return chromedp.Run(b.tab, func(ctx context.Context, t *chromedp.Target) ([]byte, error) {
		yes := true
		r, err := cdp.Call(ctx, t, page.CaptureScreenshot, page.CaptureScreenshotParams{
			Format:                page.CaptureScreenshotFormatPng,
			CaptureBeyondViewport: &yes,
			FromSurface:           &yes,
			Clip:                  &page.Viewport{X: 0, Y: box[0], Width: width, Height: box[1], Scale: 1},
		})
		return r.Data, err
	})
}
