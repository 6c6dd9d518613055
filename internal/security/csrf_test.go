package security

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
)

func TestValidToken_EmptyNeverMatches(t *testing.T) {
	tests := []struct {
		want, got string
		ok        bool
	}{
		{"abc", "abc", true},
		{"abc", "abd", false},
		{"abc", "", false},
		{"", "", false},
		{"abc", "abcd", false},
	}
	for _, tt := range tests {
		if ValidToken(tt.want, tt.got) != tt.ok {
			t.Errorf("ValidToken(%q, %q) = %v, want %v", tt.want, tt.got, !tt.ok, tt.ok)
		}
	}
}

func TestCSRF_OnlyUnsafeMethodsNeedTheToken(t *testing.T) {
	reached := false
	h := LimitBody(CSRF(
		func(*http.Request) string { return "session-token" },
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }),
		func(w http.ResponseWriter, _ *http.Request, why BodyFailure) {
			w.WriteHeader(map[BodyFailure]int{BodyTooLarge: 413, BodyTimeout: 408, BodyMalformed: 400}[why])
		},
	)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { reached = true })))

	do := func(method, body string) (int, bool) {
		reached = false
		req := httptest.NewRequest(method, "/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code, reached
	}
	tests := []struct {
		name, method, body string
		code               int
		reached            bool
	}{
		{"GET passes", http.MethodGet, "", 200, true},
		{"POST with the token", http.MethodPost, url.Values{CSRFField: {"session-token"}}.Encode(), 200, true},
		{"POST without", http.MethodPost, "a=b", 403, false},
		{"POST with another", http.MethodPost, url.Values{CSRFField: {"other"}}.Encode(), 403, false},
		{"DELETE without", http.MethodDelete, "", 403, false},
		{"POST over the limit", http.MethodPost, CSRFField + "=session-token&x=" + strings.Repeat("a", MaxFormBytes), 413, false},
	}
	for _, tt := range tests {
		code, ok := do(tt.method, tt.body)
		if code != tt.code || ok != tt.reached {
			t.Errorf("%s: status %d, handler reached %v; want %d, %v", tt.name, code, ok, tt.code, tt.reached)
		}
	}
}

// One table over the ways a body read fails: each gets the status that
// says what happened, never the CSRF refusal.
func TestClassifyBodyError_EachFailureKind(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want BodyFailure
	}{
		{"over the size limit", &http.MaxBytesError{Limit: 64 << 10}, BodyTooLarge},
		{"read deadline passed", fmt.Errorf("read: %w", os.ErrDeadlineExceeded), BodyTimeout},
		{"network timeout", timeoutErr{}, BodyTimeout},
		{"cut short", io.ErrUnexpectedEOF, BodyMalformed},
		{"malformed form", errors.New(`invalid URL escape "%zz"`), BodyMalformed},
	}
	for _, tt := range tests {
		if got := ClassifyBodyError(tt.err); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }
