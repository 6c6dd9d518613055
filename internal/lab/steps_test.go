package lab

import (
	"strings"
	"testing"
)

// Every page ends with two to five steps a learner can do by hand; the
// commands in them are well formed for `make run`.
func TestPractices_TryItYourselfSteps(t *testing.T) {
	for _, p := range Practices {
		if n := len(p.Steps); n < 2 || n > 5 {
			t.Errorf("%s: %d steps, want two to five", p.Slug, n)
		}
		for i, s := range p.Steps {
			if strings.Count(s, "`")%2 != 0 {
				t.Errorf("%s step %d: unbalanced backticks: %s", p.Slug, i+1, s)
			}
			parts := strings.Split(s, "`")
			for j := 1; j < len(parts); j += 2 {
				code := parts[j]
				if !strings.HasPrefix(code, "curl ") {
					continue
				}
				if !strings.Contains(code, StepsBaseURL+"/") {
					t.Errorf("%s step %d: %q does not go to %s", p.Slug, i+1, code, StepsBaseURL)
				}
				// curl keeps no cookies: the session cookie goes in a header.
				if strings.Contains(code, "Cookie") && !strings.Contains(code, "-H 'Cookie: "+stepsCookieName+"=") {
					t.Errorf("%s step %d: %q: send the cookie as -H 'Cookie: %s=VALUE'", p.Slug, i+1, code, stepsCookieName)
				}
			}
		}
	}
}

func TestStepsFor_CodeEscapingAndTheConfiguredCookieName(t *testing.T) {
	p := Practice{Steps: []string{"Run `curl -H 'Cookie: __Host-session=VALUE' http://localhost:8080/` and see <b>200</b>."}}
	got := string(p.StepsFor("session")[0])
	want := "Run <code>curl -H &#39;Cookie: session=VALUE&#39; http://localhost:8080/</code> and see &lt;b&gt;200&lt;/b&gt;."
	if got != want {
		t.Errorf("StepsFor(session):\n got %s\nwant %s", got, want)
	}
	if got := string(p.StepsFor("__Host-session")[0]); !strings.Contains(got, "Cookie: __Host-session=VALUE") {
		t.Errorf("StepsFor(__Host-session): %s", got)
	}
}
