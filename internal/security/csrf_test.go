package security

import (
	"net/http"
	"net/http/httptest"
	"net/url"
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
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusRequestEntityTooLarge) }),
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
