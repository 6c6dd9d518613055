package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// Every line logged with a request's context carries its id, first after
// the logger's own attributes, though no call adds it; a line logged
// outside a request carries none.
func TestWithRequestID_LinesLoggedWithARequestsContextCarryItsID(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(withRequestID(slog.NewTextHandler(&buf, nil))).With("app", "sessionlab")
	h := (&app{}).requestID(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "in a handler", "k", "v")
		log.LogAttrs(r.Context(), slog.LevelWarn, "with attrs", slog.Int("n", 1))
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	log.Info("outside a request", "k", "v")

	id := rec.Header().Get("X-Request-Id")
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(id) {
		t.Fatalf("X-Request-Id = %q", id)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	for i, want := range []string{
		`level=INFO msg="in a handler" app=sessionlab request_id=` + id + ` k=v`,
		`level=WARN msg="with attrs" app=sessionlab request_id=` + id + ` n=1`,
		`level=INFO msg="outside a request" app=sessionlab k=v`,
	} {
		if i >= len(lines) || !strings.HasSuffix(lines[i], want) {
			t.Errorf("line %d does not end %q:\n%s", i, want, buf.String())
		}
	}
}
