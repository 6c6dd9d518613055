package server_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
)

// ASVS 5.0 16.5.1, 16.5.4: a handler that panics answers the generic 500
// page — no panic value, no stack — the details go to the log under the
// request id, and the server keeps serving.
func TestPanic_GenericErrorPageAndTheServerKeepsServing(t *testing.T) {
	eachBackend(t, func(t *testing.T, b backend) {
		app := newDefendedApp(t, b, appOptions{routes: func(r *chi.Mux) {
			// Test-only: behind the real standard tier of middleware.
			r.Get("/test/panic", func(http.ResponseWriter, *http.Request) {
				panic("boom: SELECT password_hash FROM users")
			})
		}})
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)

		for range 2 {
			r := c.get("/test/panic")
			if r.status != http.StatusInternalServerError {
				t.Fatalf("GET /test/panic: %d, want 500", r.status)
			}
			if !strings.Contains(r.body, "Something went wrong on our side") {
				t.Error("the 500 page is not the generic error page")
			}
			for _, leak := range []string{"boom", "SELECT", "goroutine", ".go:", "panic"} {
				if strings.Contains(r.body, leak) {
					t.Errorf("the 500 page shows %q", leak)
				}
			}
			mustHaveSecurityHeaders(t, "the panic page", r, true)
			id := r.header.Get("X-Request-Id")
			if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
				t.Fatalf("X-Request-Id = %q, want a server-made id", id)
			}
			logged := regexp.MustCompile(`msg=panic request_id=` + id + `.*boom.*stack=`)
			if !logged.MatchString(app.logs.String()) {
				t.Errorf("no log record of the panic with request id %s and its stack", id)
			}
		}

		// Still serving: health, pages, the signed-in session.
		if r := c.get("/healthz"); r.status != http.StatusOK {
			t.Errorf("GET /healthz after the panics: %d, want 200", r.status)
		}
		c.mustBeSignedIn(email)
		other := app.newClient()
		other.login(email, pw)
	})
}

// ASVS 5.0 16.2.1 (log integrity): the request id is the server's own; a
// client cannot choose the id its requests are logged under.
func TestRequestID_ClientSuppliedIDIsNotTrusted(t *testing.T) {
	app := newDefendedApp(t, backends()[0], appOptions{})
	c := app.newClient()
	req, err := http.NewRequest(http.MethodGet, app.ts.URL+"/no-such-page", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-Id", "forged-id")
	r := c.do(req)
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "There is no page at this address") {
		t.Errorf("GET /no-such-page: %d, want the 404 page", r.status)
	}
	if got := r.header.Get("X-Request-Id"); got == "forged-id" || got == "" {
		t.Errorf("X-Request-Id = %q, want a server-made id", got)
	}
}
