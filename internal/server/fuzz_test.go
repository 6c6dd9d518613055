package server

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzSafeNext: whatever `next` an attacker sends, what the login follows
// is "" or a path on this site — never "//host", a backslash, a scheme or
// a host (ASVS 5.0 3.7.2).
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/profile", "/sessions?x=1", "//evil.example", "/\\evil.example", "\\\\evil", "https://evil.example/",
		"javascript:alert(1)", "/%2F%2Fevil.example", "/\t/evil", "", "/" + strings.Repeat("a", 3000), "http:/evil", "/@evil", "/ok#frag"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		if got == "" {
			return
		}
		if got != next {
			t.Fatalf("safeNext(%q) = %q: it must return the input or nothing", next, got)
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
			!strings.HasPrefix(got, "/") || strings.HasPrefix(got, "//") || strings.ContainsRune(got, '\\') {
			t.Fatalf("safeNext(%q) let through %q, which is not a same-site path", next, got)
		}
		for _, c := range got {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("safeNext(%q) let through a control character", next)
			}
		}
	})
}

// FuzzCheckEmail: the sign-up form's email check never panics and never
// accepts what could break a page or a header (spaces, angle brackets,
// quotes, line breaks) or an address without a local part and a domain.
func FuzzCheckEmail(f *testing.F) {
	for _, s := range []string{"a@example.com", "", "@", "a@", "@b", "a b@c", "<a>@b", "a\r\n@b", strings.Repeat("a", 300) + "@b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, email string) {
		if checkEmail(email) != "" {
			return
		}
		at := strings.LastIndexByte(email, '@')
		if at < 1 || at == len(email)-1 || len(email) > 254 || strings.ContainsAny(email, " \t\r\n<>\"") {
			t.Fatalf("checkEmail accepted %q", email)
		}
	})
}
