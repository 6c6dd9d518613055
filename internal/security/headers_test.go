package security

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// serve runs h over a handler that writes a body, as every route would.
func serve(mw func(http.Handler) http.Handler, r *http.Request) http.Header {
	rec := httptest.NewRecorder()
	mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found", http.StatusNotFound) // an error page keeps them too
	})).ServeHTTP(rec, r)
	return rec.Result().Header
}

func TestHeaders_SetOnEveryResponse(t *testing.T) {
	h := serve(Headers, httptest.NewRequest(http.MethodGet, "/nope", nil))
	want := map[string]string{
		"X-Content-Type-Options":     "nosniff",
		"Referrer-Policy":            "no-referrer",
		"Cross-Origin-Opener-Policy": "same-origin",
		"X-Frame-Options":            "DENY",
	}
	for name, v := range want {
		if got := h.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("%s = %q, want exactly %q", name, got, v)
		}
	}
	pp := h.Get("Permissions-Policy")
	for _, feature := range []string{"camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()"} {
		if !strings.Contains(pp, feature) {
			t.Errorf("Permissions-Policy %q does not deny %s", pp, feature)
		}
	}
}

func TestContentSecurityPolicy_StrictWithoutUnsafeInline(t *testing.T) {
	csp := serve(ContentSecurityPolicy, httptest.NewRequest(http.MethodGet, "/", nil)).Get("Content-Security-Policy")
	directives := map[string]bool{}
	for d := range strings.SplitSeq(csp, ";") {
		directives[strings.TrimSpace(d)] = true
	}
	for _, want := range []string{
		"default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self'",
		"form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'", "object-src 'none'",
	} {
		if !directives[want] {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %s", csp, bad)
		}
	}
}

func TestStrictTransportSecurity_OnlyOverTLS(t *testing.T) {
	plain := httptest.NewRequest(http.MethodGet, "/", nil)
	if got := serve(StrictTransportSecurity, plain).Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("plain HTTP: Strict-Transport-Security = %q, want none", got)
	}
	secure := httptest.NewRequest(http.MethodGet, "https://localhost/", nil)
	secure.TLS = &tls.ConnectionState{}
	if got := serve(StrictTransportSecurity, secure).Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("TLS: Strict-Transport-Security = %q, want a year with subdomains", got)
	}
}
