package config

import (
	"regexp"
	"strings"
	"testing"
)

// secretShapes find the passwords an operator may put in a URL: user
// info, and keyword=value parameters.
var secretShapes = []*regexp.Regexp{
	regexp.MustCompile(`://[^/@:\s]*:([^@/\s]+)@`),
	regexp.MustCompile(`(?i)password=([^\s&;']+)`),
}

// FuzzLoad: whatever the environment holds, Load returns a valid
// configuration or an error naming what is wrong, never a panic, and never
// a Config that breaks its own rules.
func FuzzLoad(f *testing.F) {
	f.Add("SESSION_IDLE_TIMEOUT", "30m", "SESSION_LIFETIME", "12h")
	f.Add("BCRYPT_COST", "9", "REQUEST_TIMEOUT", "1s")
	f.Add("TRUSTED_PROXIES", "10.0.0.0/8, ::1", "SESSION_IP_BINDING", "subnet")
	f.Add("REDIS_URL", "redis://u:hunter2@h:1/0", "DATABASE_URL", "postgres://u:secret@h/db")
	f.Add("DATABASE_URL", "host=db user=u password=hunter2", "REDIS_URL", "redis://:pw-1234@[::1")
	f.Add("COOKIE_SECURE", "false", "TLS_CERT", "c.pem")
	f.Fuzz(func(t *testing.T, k1, v1, k2, v2 string) {
		env := map[string]string{k1: v1, k2: v2}
		c, err := Load(func(k string) string { return env[k] })
		if err != nil {
			// A password in a URL's user info or a password= parameter
			// never reaches the message.
			for k, v := range env {
				for _, line := range strings.Split(err.Error(), "\n") {
					if !strings.HasPrefix(line, k+"=") {
						continue // another variable's line
					}
					// The password as it stood in the value (with its
					// delimiters, so a one-letter password is not found in
					// the variable's name) must not stand in the message.
					for _, re := range secretShapes {
						for _, m := range re.FindAllStringSubmatch(v, -1) {
							if m[1] != "xxxxx" && strings.Contains(strings.ToLower(line), strings.ToLower(m[0])) {
								t.Fatalf("the error shows the password %q of %s: %v", m[1], k, line)
							}
						}
					}
				}
			}
			return
		}
		if c.IdleTimeout > c.Lifetime || c.BcryptCost < 10 || c.RequestTimeout <= c.BcryptWait || c.SessionsPerUser < 1 || c.MaxConnections < 1 {
			t.Fatalf("Load accepted an unsafe configuration from %v: %+v", env, c)
		}
	})
}
