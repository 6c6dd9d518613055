package auth

import (
	"testing"
	"unicode/utf8"
)

// FuzzValidateNew: a new password is accepted only from 8 characters up to
// bcrypt's 72 bytes, never silently truncated, whatever its bytes.
func FuzzValidateNew(f *testing.F) {
	for _, s := range []string{"", "short", "eight ch", "correct horse battery staple", string(make([]byte, 72)), string(make([]byte, 73)), "пароль-пароль", "🔑🔑🔑🔑🔑🔑🔑🔑"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, pw string) {
		err := ValidateNew(pw)
		switch {
		case len(pw) > MaxPasswordBytes:
			if err != ErrPasswordTooLong {
				t.Fatalf("%d bytes: %v, want ErrPasswordTooLong", len(pw), err)
			}
		case utf8.RuneCountInString(pw) < MinPasswordChars:
			if err != ErrPasswordTooShort {
				t.Fatalf("%d characters: %v, want ErrPasswordTooShort", utf8.RuneCountInString(pw), err)
			}
		case err != nil:
			t.Fatalf("%q refused: %v", pw, err)
		}
	})
}
