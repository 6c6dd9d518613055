package lab

import (
	"strings"
	"testing"
)

func TestPractices_EveryPageSaysWhatItDoesNotStopAndTheCommonMistakes(t *testing.T) {
	seen := map[string]bool{}
	for _, p := range Practices {
		if seen[p.Slug] {
			t.Errorf("two practices are called %s", p.Slug)
		}
		seen[p.Slug] = true
		if len(p.NotStopped) == 0 || len(p.Mistakes) == 0 || len(p.Elsewhere) == 0 {
			t.Errorf("%s: %d things it does not stop, %d mistakes, %d framework notes; want at least one of each",
				p.Slug, len(p.NotStopped), len(p.Mistakes), len(p.Elsewhere))
		}
	}
}

func TestGlossary_EveryTermAPracticeLinksToIsDefined(t *testing.T) {
	slugs := map[string]bool{}
	for _, term := range Glossary {
		if term.Slug == "" || term.Name == "" || term.Definition == "" {
			t.Errorf("incomplete glossary entry %+v", term)
		}
		if slugs[term.Slug] {
			t.Errorf("glossary entry %s defined twice", term.Slug)
		}
		slugs[term.Slug] = true
	}
	for _, p := range Practices {
		for _, slug := range p.Terms {
			if !slugs[slug] {
				t.Errorf("%s links to glossary entry %q, which does not exist", p.Slug, slug)
			}
		}
		if len(p.TermList()) != len(p.Terms) {
			t.Errorf("%s: TermList lost entries", p.Slug)
		}
	}
}

// The citations the teaching review corrected stay corrected.
func TestPractices_CiteWhatTheStandardsSay(t *testing.T) {
	for _, c := range []struct {
		slug       string
		has, lacks []string
	}{
		{"passwords", []string{"6.2.1", "6.2.5", "6.2.8", "6.3.8", "11.4.2"}, []string{"6.2.9"}},
		{"headers", []string{"3.4.1, 3.4.3–3.4.6, 3.4.8"}, nil},
		{"logout", []string{"7.4.1", "14.3.1", "14.3.2"}, nil},
		{"timeouts", []string{"7.1.1", "7.3.1", "7.3.2"}, nil},
		{"fail-closed", []string{"16.5.1", "16.5.2", "16.5.3"}, nil},
		{"throttling", []string{"6.1.1", "6.3.1"}, nil},
		{"storage", []string{"7.2.3", "beyond ASVS"}, []string{"session ID content"}},
	} {
		p, ok := Find(c.slug)
		if !ok {
			t.Fatalf("no practice %s", c.slug)
		}
		for _, want := range c.has {
			if !strings.Contains(p.Standard, want) {
				t.Errorf("%s cites %q, want it to include %s", c.slug, p.Standard, want)
			}
		}
		for _, bad := range c.lacks {
			if strings.Contains(p.Standard, bad) {
				t.Errorf("%s cites %q, which must not include %s", c.slug, p.Standard, bad)
			}
		}
	}
	if p, _ := Find("storage"); !strings.HasSuffix(p.Link, "#built-in-session-management-implementations") {
		t.Errorf("storage links to %s", p.Link)
	}
}

// The cookie practice teaches Max-Age as the browser's keeping time, not a
// timeout.
func TestPractices_CookiePageExplainsMaxAge(t *testing.T) {
	p, _ := Find("cookie")
	text := p.What + " " + p.Why
	for _, want := range []string{"no Max-Age and no Expires", "browser-session", "Keep me signed in on this device", "Max-Age is not a timeout", "idle and absolute deadlines", "restore the previous session"} {
		if !strings.Contains(text, want) {
			t.Errorf("the cookie practice does not say %q", want)
		}
	}
}
