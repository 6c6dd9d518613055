package lab

import (
	"html/template"
	"strings"
)

// StepsBaseURL is where the "Try it yourself" commands send their
// requests: the address `make run` serves.
const StepsBaseURL = "http://localhost:8080"

// stepsCookieName is how the steps name the session cookie; StepsFor puts
// the configured name in its place.
const stepsCookieName = "__Host-session"

// StepsFor returns the practice's "Try it yourself" steps as HTML, with the
// session cookie named as this server names it (cookieName: "session" when
// COOKIE_SECURE=false). Text between backticks becomes <code>; everything
// is escaped, so a step can show markup and quotes as they are typed.
func (p Practice) StepsFor(cookieName string) []template.HTML {
	out := make([]template.HTML, 0, len(p.Steps))
	for _, s := range p.Steps {
		if cookieName != "" {
			s = strings.ReplaceAll(s, stepsCookieName, cookieName)
		}
		var b strings.Builder
		for i, part := range strings.Split(s, "`") {
			if i%2 == 1 {
				b.WriteString("<code>" + template.HTMLEscapeString(part) + "</code>")
			} else {
				b.WriteString(template.HTMLEscapeString(part))
			}
		}
		out = append(out, template.HTML(b.String()))
	}
	return out
}
