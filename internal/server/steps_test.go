package server_test

import (
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/lab"
)

// Every practice page ends with its "Try it yourself" steps, after the live
// evidence, naming the session cookie as this server names it.
func TestPractices_TryItYourselfStepsEndEveryPage(t *testing.T) {
	b := backends()[0] // the page does not depend on the store
	for _, secure := range []bool{true, false} {
		app := newApp(t, b, func(c *config.Config) { c.CookieSecure = secure })
		name := app.cfg.CookieName()
		c := app.newClient()
		for _, p := range lab.Practices {
			body := c.get("/practices/" + p.Slug).body
			ev := strings.Index(body, "<h2>Live evidence</h2>")
			try := strings.Index(body, "<h2>Try it yourself</h2>")
			if ev < 0 || try < ev {
				t.Errorf("secure=%v %s: \"Try it yourself\" at %d, live evidence at %d; want the steps after the evidence", secure, p.Slug, try, ev)
				continue
			}
			steps := body[try:]
			steps = steps[:strings.Index(steps, "</ol>")]
			for i, s := range p.StepsFor(name) {
				if !strings.Contains(steps, "<li>"+string(s)+"</li>") {
					t.Errorf("secure=%v %s: step %d not shown as %s", secure, p.Slug, i+1, s)
				}
			}
			if n := strings.Count(steps, "<li>"); n != len(p.Steps) {
				t.Errorf("secure=%v %s: %d steps shown, want %d", secure, p.Slug, n, len(p.Steps))
			}
			if !secure && strings.Contains(steps, "__Host-session") {
				t.Errorf("%s: with COOKIE_SECURE=false the steps still name __Host-session", p.Slug)
			}
		}
	}
}
