package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/lab"
)

var glossaryLink = regexp.MustCompile(`href="/glossary#([^"]+)"`)

// The glossary renders every term with its anchor, the practices index
// links to it, and every glossary link on every practice page lands on an
// anchor that exists.
func TestGlossary_RendersAndEveryPracticeLinkResolves(t *testing.T) {
	app := newApp(t, backends()[0])
	c := app.newClient()
	g := c.get("/glossary")
	if g.status != http.StatusOK {
		t.Fatalf("GET /glossary: %d", g.status)
	}
	for _, term := range lab.Glossary {
		if !strings.Contains(g.body, `id="`+term.Slug+`"`) {
			t.Errorf("the glossary has no entry %s", term.Slug)
		}
	}
	if !strings.Contains(c.get("/practices").body, `href="/glossary"`) {
		t.Error("the practices index does not link to the glossary")
	}
	for _, p := range lab.Practices {
		body := c.get("/practices/" + p.Slug).body
		links := glossaryLink.FindAllStringSubmatch(body, -1)
		if len(links) != len(p.Terms) {
			t.Errorf("/practices/%s has %d glossary links, want %d", p.Slug, len(links), len(p.Terms))
		}
		for _, m := range links {
			if !strings.Contains(g.body, `id="`+m[1]+`"`) {
				t.Errorf("/practices/%s links to /glossary#%s, which the glossary does not define", p.Slug, m[1])
			}
		}
		for _, heading := range []string{"What it does not stop", "Common mistakes", "How other frameworks do it"} {
			if !strings.Contains(body, heading) {
				t.Errorf("/practices/%s has no %q section", p.Slug, heading)
			}
		}
	}
}
