package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// env is a map-backed getenv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

// defaults is the Config that an empty environment produces.
func defaults() Config {
	return Config{
		Addr:         "localhost:8080",
		DatabaseURL:  "sqlite:data/sessionlab.db",
		RedisURL:     "",
		IdleTimeout:  30 * time.Minute,
		Lifetime:     12 * time.Hour,
		ReauthWindow: 10 * time.Minute,
		IPBinding:    IPBindingStrict,
		CookieSecure: true,
		BcryptCost:   12,
		LogFormat:    "text",

		BcryptConcurrency: max(1, runtime.NumCPU()/2),
		BcryptWait:        2 * time.Second,
		BcryptWorkers:     BcryptInProcesses,
		BcryptNice:        10,
		LoginAccountLimit: 10,
		LoginIPLimit:      50,
		SignupIPLimit:     20,
		ThrottleWindow:    15 * time.Minute,
		SessionsPerUser:   50,
		MaxConnections:    1024,
		RequestTimeout:    5 * time.Second,
	}
}

func TestLoad_EmptyEnvironmentGivesSafeDefaults(t *testing.T) {
	t.Parallel()
	got, err := Load(env{}.get)
	if err != nil {
		t.Fatalf("Load(empty) error: %v", err)
	}
	want := defaults()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Load(empty)\n got  %+v\n want %+v", got, want)
	}
	if got.TrustedProxies != nil || got.Warnings != nil || got.TLSCert != "" || got.TLSKey != "" {
		t.Errorf("Load(empty): want no proxies, warnings or TLS files, got %+v", got)
	}
}

func TestLoad_EmptyValueMeansDefault(t *testing.T) {
	t.Parallel()
	e := env{}
	for _, name := range []string{
		"ADDR", "DATABASE_URL", "REDIS_URL", "SESSION_IDLE_TIMEOUT", "SESSION_LIFETIME",
		"REAUTH_WINDOW", "SESSION_IP_BINDING", "TRUSTED_PROXIES", "COOKIE_SECURE",
		"TLS_CERT", "TLS_KEY", "BCRYPT_COST", "LOG_FORMAT",
		"BCRYPT_CONCURRENCY", "BCRYPT_WAIT", "BCRYPT_WORKERS", "BCRYPT_NICE", "LOGIN_ACCOUNT_LIMIT", "LOGIN_IP_LIMIT", "SIGNUP_IP_LIMIT", "THROTTLE_WINDOW",
	} {
		e[name] = ""
	}
	got, err := Load(e.get)
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLoad_ReadsOnlyThroughGetenv(t *testing.T) {
	// Not parallel: t.Setenv changes the process environment.
	t.Setenv("BCRYPT_COST", "4")
	t.Setenv("ADDR", ":1")
	got, err := Load(env{}.get)
	if err != nil {
		t.Fatalf("Load read the process environment: %v", err)
	}
	if want := defaults(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

func TestLoad_AcceptsValidOverrides(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  env
		want func(c *Config) // changes from defaults()
	}{
		{"addr", env{"ADDR": ":9000"}, func(c *Config) { c.Addr = ":9000" }},
		{"addr trimmed", env{"ADDR": "  0.0.0.0:80 "}, func(c *Config) { c.Addr = "0.0.0.0:80" }},
		{"addr ipv6", env{"ADDR": "[::1]:8443"}, func(c *Config) { c.Addr = "[::1]:8443" }},
		{"sqlite path", env{"DATABASE_URL": "sqlite:/var/lib/sl.db"}, func(c *Config) { c.DatabaseURL = "sqlite:/var/lib/sl.db" }},
		{"postgres", env{"DATABASE_URL": "postgres://u:p@db:5432/sl?sslmode=require"}, func(c *Config) {
			c.DatabaseURL = "postgres://u:p@db:5432/sl?sslmode=require"
		}},
		{"postgresql", env{"DATABASE_URL": "postgresql://db/sl"}, func(c *Config) { c.DatabaseURL = "postgresql://db/sl" }},
		{"redis", env{"REDIS_URL": "redis://localhost:6379"}, func(c *Config) { c.RedisURL = "redis://localhost:6379" }},
		{"redis with db", env{"REDIS_URL": "redis://:secret@cache:6379/3"}, func(c *Config) { c.RedisURL = "redis://:secret@cache:6379/3" }},
		{"redis slash only", env{"REDIS_URL": "redis://cache/"}, func(c *Config) { c.RedisURL = "redis://cache/" }},
		{"rediss", env{"REDIS_URL": "rediss://cache:6380/0"}, func(c *Config) { c.RedisURL = "rediss://cache:6380/0" }},
		{"idle timeout", env{"SESSION_IDLE_TIMEOUT": "5m"}, func(c *Config) { c.IdleTimeout = 5 * time.Minute }},
		{"lifetime", env{"SESSION_LIFETIME": "1h30m"}, func(c *Config) { c.Lifetime = 90 * time.Minute }},
		{"idle equal to lifetime", env{"SESSION_IDLE_TIMEOUT": "1h", "SESSION_LIFETIME": "1h"}, func(c *Config) {
			c.IdleTimeout, c.Lifetime = time.Hour, time.Hour
		}},
		{"reauth window", env{"REAUTH_WINDOW": "90s"}, func(c *Config) { c.ReauthWindow = 90 * time.Second }},
		{"ip binding off", env{"SESSION_IP_BINDING": "off"}, func(c *Config) { c.IPBinding = IPBindingOff }},
		{"ip binding log", env{"SESSION_IP_BINDING": "log"}, func(c *Config) { c.IPBinding = IPBindingLog }},
		{"ip binding subnet", env{"SESSION_IP_BINDING": " subnet "}, func(c *Config) { c.IPBinding = IPBindingSubnet }},
		{"ip binding strict", env{"SESSION_IP_BINDING": "strict"}, func(c *Config) { c.IPBinding = IPBindingStrict }},
		{"trusted proxies", env{"TRUSTED_PROXIES": " 10.0.0.0/8, ,192.168.1.7,fd00::/8,::1,"}, func(c *Config) {
			c.TrustedProxies = []netip.Prefix{
				netip.MustParsePrefix("10.0.0.0/8"),
				netip.MustParsePrefix("192.168.1.7/32"),
				netip.MustParsePrefix("fd00::/8"),
				netip.MustParsePrefix("::1/128"),
			}
		}},
		{"trusted proxy host bits masked", env{"TRUSTED_PROXIES": "10.1.2.3/16"}, func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16")}
		}},
		{"trusted proxy ipv4-mapped unmapped", env{"TRUSTED_PROXIES": "::ffff:10.0.0.1,::ffff:10.0.0.0/104"}, func(c *Config) {
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8")}
		}},
		{"only separators", env{"TRUSTED_PROXIES": " , ,"}, func(c *Config) {}},
		{"cookie secure true", env{"COOKIE_SECURE": "true"}, func(c *Config) {}},
		{"cookie secure 1", env{"COOKIE_SECURE": "1"}, func(c *Config) {}},
		{"tls", env{"TLS_CERT": "cert.pem", "TLS_KEY": "key.pem"}, func(c *Config) { c.TLSCert, c.TLSKey = "cert.pem", "key.pem" }},
		{"bcrypt min", env{"BCRYPT_COST": "10"}, func(c *Config) { c.BcryptCost = 10 }},
		{"bcrypt max", env{"BCRYPT_COST": "31"}, func(c *Config) { c.BcryptCost = 31 }},
		{"log json", env{"LOG_FORMAT": "json"}, func(c *Config) { c.LogFormat = "json" }},
		{"log text", env{"LOG_FORMAT": "text"}, func(c *Config) {}},
		{"bcrypt concurrency", env{"BCRYPT_CONCURRENCY": "3"}, func(c *Config) { c.BcryptConcurrency = 3 }},
		{"bcrypt wait", env{"BCRYPT_WAIT": "500ms"}, func(c *Config) { c.BcryptWait = 500 * time.Millisecond }},
		{"bcrypt nice off", env{"BCRYPT_NICE": "0"}, func(c *Config) { c.BcryptNice = 0 }},
		{"bcrypt in threads", env{"BCRYPT_WORKERS": "thread"}, func(c *Config) { c.BcryptWorkers = BcryptInThreads }},
		{"bcrypt in processes", env{"BCRYPT_WORKERS": "process"}, func(c *Config) {}},
		{"bcrypt nice lowest", env{"BCRYPT_NICE": "19"}, func(c *Config) { c.BcryptNice = 19 }},
		{"login limits", env{"LOGIN_ACCOUNT_LIMIT": "5", "LOGIN_IP_LIMIT": "200", "SIGNUP_IP_LIMIT": "1"}, func(c *Config) {
			c.LoginAccountLimit, c.LoginIPLimit, c.SignupIPLimit = 5, 200, 1
		}},
		{"login account limit at NIST's cap", env{"LOGIN_ACCOUNT_LIMIT": "100"}, func(c *Config) { c.LoginAccountLimit = 100 }},
		{"throttle window", env{"THROTTLE_WINDOW": "1h"}, func(c *Config) { c.ThrottleWindow = time.Hour }},
		{"sessions per user", env{"SESSIONS_PER_USER": "5"}, func(c *Config) { c.SessionsPerUser = 5 }},
		{"connection cap", env{"MAX_CONNECTIONS": "64"}, func(c *Config) { c.MaxConnections = 64 }},
		{"request timeout", env{"REQUEST_TIMEOUT": "3s"}, func(c *Config) { c.RequestTimeout = 3 * time.Second }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(tt.env.get)
			if err != nil {
				t.Fatalf("Load(%v) error: %v", tt.env, err)
			}
			want := defaults()
			tt.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Load(%v)\n got  %+v\n want %+v", tt.env, got, want)
			}
		})
	}
}

func TestLoad_RefusesUnsafeValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  env
		want []string // substrings of the error: the variable name, the bad value
	}{
		{"addr blank", env{"ADDR": "   "}, []string{"ADDR", "blank"}},
		{"addr without port", env{"ADDR": "8080"}, []string{"ADDR=8080"}},
		{"database unknown scheme", env{"DATABASE_URL": "mysql://db/sl"}, []string{"DATABASE_URL=mysql://db/sl"}},
		{"database bare path", env{"DATABASE_URL": "data/sl.db"}, []string{"DATABASE_URL=data/sl.db"}},
		{"database sqlite without path", env{"DATABASE_URL": "sqlite:"}, []string{"DATABASE_URL=sqlite:", "path"}},
		{"database sqlite url form", env{"DATABASE_URL": "sqlite://data/x.db"}, []string{"DATABASE_URL=sqlite://data/x.db"}},
		{"database postgres without host", env{"DATABASE_URL": "postgres:///sl"}, []string{"DATABASE_URL=postgres:///sl", "host"}},
		{"database postgres unparsable", env{"DATABASE_URL": "postgres://db:port/sl"}, []string{"DATABASE_URL=postgres://db:port/sl", "URL"}},
		{"database postgres bad port", env{"DATABASE_URL": "postgres://db:70000/sl"}, []string{"DATABASE_URL=postgres://db:70000/sl", "port"}},
		{"database postgres upper-case scheme", env{"DATABASE_URL": "POSTGRES://db/sl"}, []string{"DATABASE_URL=POSTGRES://db/sl"}},
		{"redis wrong scheme", env{"REDIS_URL": "http://cache:6379"}, []string{"REDIS_URL=http://cache:6379"}},
		{"redis host only", env{"REDIS_URL": "cache:6379"}, []string{"REDIS_URL=cache:6379"}},
		{"redis without host", env{"REDIS_URL": "redis://:6379/0"}, []string{"REDIS_URL=redis://:6379/0", "host"}},
		{"redis unparsable", env{"REDIS_URL": "redis://cache:x/0"}, []string{"REDIS_URL=redis://cache:x/0"}},
		{"redis db not a number", env{"REDIS_URL": "redis://cache/abc"}, []string{"REDIS_URL=redis://cache/abc", "database number"}},
		{"redis db negative", env{"REDIS_URL": "redis://cache/-1"}, []string{"REDIS_URL=redis://cache/-1"}},
		{"redis db nested path", env{"REDIS_URL": "redis://cache/1/2"}, []string{"REDIS_URL=redis://cache/1/2"}},
		{"redis db overflow", env{"REDIS_URL": "redis://cache/99999999999999999999"}, []string{"REDIS_URL=redis://cache/99999999999999999999"}},
		{"idle not a duration", env{"SESSION_IDLE_TIMEOUT": "30"}, []string{"SESSION_IDLE_TIMEOUT=30"}},
		{"idle zero", env{"SESSION_IDLE_TIMEOUT": "0s"}, []string{"SESSION_IDLE_TIMEOUT=0s", "greater than zero"}},
		{"idle negative", env{"SESSION_IDLE_TIMEOUT": "-5m"}, []string{"SESSION_IDLE_TIMEOUT=-5m"}},
		{"lifetime not a duration", env{"SESSION_LIFETIME": "forever"}, []string{"SESSION_LIFETIME=forever"}},
		{"lifetime zero", env{"SESSION_LIFETIME": "0"}, []string{"SESSION_LIFETIME=0"}},
		{"idle exceeds lifetime", env{"SESSION_IDLE_TIMEOUT": "2h", "SESSION_LIFETIME": "1h"}, []string{
			"SESSION_IDLE_TIMEOUT=2h", "SESSION_LIFETIME=1h",
		}},
		{"idle exceeds default lifetime", env{"SESSION_IDLE_TIMEOUT": "24h"}, []string{
			"SESSION_IDLE_TIMEOUT=24h", "SESSION_LIFETIME=12h",
		}},
		{"reauth not a duration", env{"REAUTH_WINDOW": "ten"}, []string{"REAUTH_WINDOW=ten"}},
		{"reauth zero", env{"REAUTH_WINDOW": "0m"}, []string{"REAUTH_WINDOW=0m"}},
		{"ip binding unknown", env{"SESSION_IP_BINDING": "loose"}, []string{"SESSION_IP_BINDING=loose"}},
		{"ip binding upper case", env{"SESSION_IP_BINDING": "STRICT"}, []string{"SESSION_IP_BINDING=STRICT"}},
		{"trusted proxy garbage", env{"TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"}, []string{"TRUSTED_PROXIES=proxy.local"}},
		{"trusted proxy bad prefix", env{"TRUSTED_PROXIES": "10.0.0.0/33"}, []string{"TRUSTED_PROXIES=10.0.0.0/33"}},
		{"trusted proxy bad address", env{"TRUSTED_PROXIES": "10.0.0.256"}, []string{"TRUSTED_PROXIES=10.0.0.256"}},
		{"trusted proxy zone", env{"TRUSTED_PROXIES": "fe80::1%eth0"}, []string{"TRUSTED_PROXIES=fe80::1%eth0"}},
		{"cookie secure not a bool", env{"COOKIE_SECURE": "maybe"}, []string{"COOKIE_SECURE=maybe"}},
		{"cookie insecure with tls", env{"COOKIE_SECURE": "false", "TLS_CERT": "c.pem", "TLS_KEY": "k.pem"}, []string{
			"COOKIE_SECURE=false", "TLS_CERT",
		}},
		{"cookie insecure with half tls", env{"COOKIE_SECURE": "0", "TLS_KEY": "k.pem"}, []string{"COOKIE_SECURE=false", "TLS_CERT is missing"}},
		{"tls cert without key", env{"TLS_CERT": "c.pem"}, []string{"TLS_KEY is missing"}},
		{"tls key without cert", env{"TLS_KEY": "k.pem"}, []string{"TLS_CERT is missing"}},
		{"tls cert blank", env{"TLS_CERT": " ", "TLS_KEY": "k.pem"}, []string{`TLS_CERT=" "`}},
		{"bcrypt below minimum", env{"BCRYPT_COST": "9"}, []string{"BCRYPT_COST=9: must be at least 10 (OWASP Password Storage Cheat Sheet)"}},
		{"bcrypt bcrypt-minimum", env{"BCRYPT_COST": "4"}, []string{"BCRYPT_COST=4"}},
		{"bcrypt above maximum", env{"BCRYPT_COST": "32"}, []string{"BCRYPT_COST=32", "31"}},
		{"bcrypt not a number", env{"BCRYPT_COST": "twelve"}, []string{"BCRYPT_COST=twelve"}},
		{"log format unknown", env{"LOG_FORMAT": "xml"}, []string{"LOG_FORMAT=xml"}},
		{"log format upper case", env{"LOG_FORMAT": "JSON"}, []string{"LOG_FORMAT=JSON"}},
		{"blank value", env{"BCRYPT_COST": " \t"}, []string{`BCRYPT_COST=" \t"`, "blank"}},
		{"bcrypt concurrency zero", env{"BCRYPT_CONCURRENCY": "0"}, []string{"BCRYPT_CONCURRENCY=0", "at least 1"}},
		{"bcrypt nice above 19", env{"BCRYPT_NICE": "20"}, []string{"BCRYPT_NICE=20", "between 0 and 19"}},
		{"bcrypt nice negative", env{"BCRYPT_NICE": "-5"}, []string{"BCRYPT_NICE=-5", "between 0 and 19"}},
		{"bcrypt nice not a number", env{"BCRYPT_NICE": "low"}, []string{"BCRYPT_NICE=low", "whole number"}},
		{"bcrypt workers unknown", env{"BCRYPT_WORKERS": "goroutine"}, []string{"BCRYPT_WORKERS=goroutine", "process or thread"}},
		{"bcrypt concurrency not a number", env{"BCRYPT_CONCURRENCY": "all"}, []string{"BCRYPT_CONCURRENCY=all"}},
		{"bcrypt wait zero", env{"BCRYPT_WAIT": "0s"}, []string{"BCRYPT_WAIT=0s"}},
		{"bcrypt wait too long", env{"BCRYPT_WAIT": "1m"}, []string{"BCRYPT_WAIT=1m", "at most 10s"}},
		{"login account limit zero", env{"LOGIN_ACCOUNT_LIMIT": "0"}, []string{"LOGIN_ACCOUNT_LIMIT=0", "at least 1"}},
		{"login account limit over NIST's cap", env{"LOGIN_ACCOUNT_LIMIT": "101"}, []string{"LOGIN_ACCOUNT_LIMIT=101", "at most 100"}},
		{"sessions per user zero", env{"SESSIONS_PER_USER": "0"}, []string{"SESSIONS_PER_USER=0", "at least 1"}},
		{"connection cap zero", env{"MAX_CONNECTIONS": "0"}, []string{"MAX_CONNECTIONS=0", "at least 1"}},
		{"request timeout under a second", env{"REQUEST_TIMEOUT": "500ms"}, []string{"REQUEST_TIMEOUT=500ms", "between 1s and 1m"}},
		{"request timeout not over the bcrypt wait", env{"REQUEST_TIMEOUT": "2s"}, []string{"REQUEST_TIMEOUT=2s", "longer than BCRYPT_WAIT"}},
		{"sessions per user over the cap", env{"SESSIONS_PER_USER": "1001"}, []string{"SESSIONS_PER_USER=1001", "at most 1000"}},
		{"login ip limit negative", env{"LOGIN_IP_LIMIT": "-1"}, []string{"LOGIN_IP_LIMIT=-1"}},
		{"signup ip limit not a number", env{"SIGNUP_IP_LIMIT": "many"}, []string{"SIGNUP_IP_LIMIT=many"}},
		{"throttle window too short", env{"THROTTLE_WINDOW": "30s"}, []string{"THROTTLE_WINDOW=30s", "between 1m and 24h"}},
		{"throttle window too long", env{"THROTTLE_WINDOW": "48h"}, []string{"THROTTLE_WINDOW=48h"}},
		{"throttle window not a duration", env{"THROTTLE_WINDOW": "15"}, []string{"THROTTLE_WINDOW=15"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Load(tt.env.get)
			if err == nil {
				t.Fatalf("Load(%v) = %+v, want an error", tt.env, got)
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("Load(%v) error = %q, want it to contain %q", tt.env, err, want)
				}
			}
			if !reflect.DeepEqual(got, Config{}) {
				t.Errorf("Load(%v) returned %+v with an error, want the zero Config", tt.env, got)
			}
		})
	}
}

func TestLoad_ReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	e := env{
		"ADDR":                 "nope",
		"DATABASE_URL":         "mysql://db",
		"REDIS_URL":            "redis://cache/x",
		"SESSION_IDLE_TIMEOUT": "soon",
		"SESSION_LIFETIME":     "-1h",
		"REAUTH_WINDOW":        "0",
		"SESSION_IP_BINDING":   "sometimes",
		"TRUSTED_PROXIES":      "1.2.3.4,bad,also-bad",
		"COOKIE_SECURE":        "yes please",
		"TLS_CERT":             "c.pem",
		"BCRYPT_COST":          "8",
		"LOG_FORMAT":           "yaml",
	}
	_, err := Load(e.get)
	if err == nil {
		t.Fatal("Load: want an error")
	}
	want := []string{
		"ADDR=nope", "DATABASE_URL=mysql://db", "REDIS_URL=redis://cache/x",
		"SESSION_IDLE_TIMEOUT=soon", "SESSION_LIFETIME=-1h", "REAUTH_WINDOW=0",
		"SESSION_IP_BINDING=sometimes", "TRUSTED_PROXIES=bad", "TRUSTED_PROXIES=also-bad",
		`COOKIE_SECURE="yes please"`, "TLS_KEY is missing", "BCRYPT_COST=8", "LOG_FORMAT=yaml",
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not report %q:\n%v", w, err)
		}
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("error %T is not joined with errors.Join", err)
	}
	if got := len(joined.Unwrap()); got != len(want) {
		t.Errorf("got %d errors, want %d (one per problem):\n%v", got, len(want), err)
	}
	// An invalid timeout is not compared with the other one: no spurious idle/lifetime error.
	if strings.Contains(err.Error(), "exceeds") {
		t.Errorf("error compares an invalid duration:\n%v", err)
	}
}

func TestLoad_MasksCredentialsInErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  env
		want string
	}{
		{"postgres user info", env{"DATABASE_URL": "postgres://app:hunter2@:5432/sl"}, "DATABASE_URL=postgres://app:xxxxx@:5432/sl"},
		{"postgres unparsable", env{"DATABASE_URL": "postgres://app:hunter2@db:port/sl"}, "DATABASE_URL=postgres://app:xxxxx@db:port/sl"},
		{"postgres bad escape", env{"DATABASE_URL": "postgres://app:hun%zzter2@db/sl"}, "DATABASE_URL=postgres://app:xxxxx@db/sl"},
		{"postgres query password", env{"DATABASE_URL": "postgres:///sl?user=app&password=hunter2"}, "password=xxxxx"},
		{"key-value dsn", env{"DATABASE_URL": "host=db user=app password=hunter2"}, "password=xxxxx"},
		{"redis password", env{"REDIS_URL": "redis://:hunter2@cache/x"}, "REDIS_URL=redis://:xxxxx@cache/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Load(tt.env.get)
			if err == nil {
				t.Fatalf("Load(%v): want an error", tt.env)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "zzter") {
				t.Errorf("error leaks the password: %v", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoad_WarnsWhenCookieNotSecure(t *testing.T) {
	t.Parallel()
	got, err := Load(env{"COOKIE_SECURE": "false"}.get)
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	if got.CookieSecure {
		t.Error("CookieSecure = true, want false")
	}
	if len(got.Warnings) != 1 {
		t.Fatalf("Warnings = %q, want exactly one", got.Warnings)
	}
	for _, want := range []string{"COOKIE_SECURE=false", "__Host-", "plain HTTP"} {
		if !strings.Contains(got.Warnings[0], want) {
			t.Errorf("warning %q does not mention %q", got.Warnings[0], want)
		}
	}
}

func TestLoad_WarnsWhenTrustingEveryAddress(t *testing.T) {
	t.Parallel()
	got, err := Load(env{"TRUSTED_PROXIES": "0.0.0.0/0, ::/0"}.get)
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	if len(got.Warnings) != 2 {
		t.Fatalf("Warnings = %q, want one per catch-all prefix", got.Warnings)
	}
	for i, want := range []string{"0.0.0.0/0", "::/0"} {
		if !strings.Contains(got.Warnings[i], want) || !strings.Contains(got.Warnings[i], "TRUSTED_PROXIES") {
			t.Errorf("Warnings[%d] = %q, want it to name TRUSTED_PROXIES and %s", i, got.Warnings[i], want)
		}
	}
}

func TestConfig_CookieName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		secure bool
		want   string
	}{
		{true, "__Host-session"},
		{false, "session"},
	}
	for _, tt := range tests {
		if got := (Config{CookieSecure: tt.secure}).CookieName(); got != tt.want {
			t.Errorf("CookieName() with CookieSecure=%v = %q, want %q", tt.secure, got, tt.want)
		}
	}
}

func TestConfig_TLS(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cert, key string
		want      bool
	}{
		{"", "", false},
		{"c.pem", "", false},
		{"", "k.pem", false},
		{"c.pem", "k.pem", true},
	}
	for _, tt := range tests {
		if got := (Config{TLSCert: tt.cert, TLSKey: tt.key}).TLS(); got != tt.want {
			t.Errorf("TLS() with cert %q key %q = %v, want %v", tt.cert, tt.key, got, tt.want)
		}
	}
}

func TestConfig_Database(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url         string
		wantDialect string
		wantDSN     string
	}{
		{"sqlite:data/sessionlab.db", "sqlite", "data/sessionlab.db"},
		{"sqlite:/var/lib/sl.db", "sqlite", "/var/lib/sl.db"},
		{"sqlite::memory:", "sqlite", ":memory:"},
		{"postgres://u:p@db:5432/sl?sslmode=disable", "postgres", "postgres://u:p@db:5432/sl?sslmode=disable"},
		{"postgresql://db/sl", "postgres", "postgresql://db/sl"},
		{"mysql://db/sl", "", ""},
		{"", "", ""},
	}
	for _, tt := range tests {
		dialect, dsn := (Config{DatabaseURL: tt.url}).Database()
		if dialect != tt.wantDialect || dsn != tt.wantDSN {
			t.Errorf("Database() for %q = (%q, %q), want (%q, %q)", tt.url, dialect, dsn, tt.wantDialect, tt.wantDSN)
		}
	}
}

func TestConfig_DatabaseOfDefault(t *testing.T) {
	t.Parallel()
	c, err := Load(env{}.get)
	if err != nil {
		t.Fatalf("Load error: %v", err)
	}
	dialect, dsn := c.Database()
	if dialect != "sqlite" || dsn != "data/sessionlab.db" {
		t.Errorf("Database() = (%q, %q), want (%q, %q)", dialect, dsn, "sqlite", "data/sessionlab.db")
	}
}

// The joined error must still be inspectable with errors.Is/As by callers.
func TestLoad_ErrorIsJoined(t *testing.T) {
	t.Parallel()
	_, err := Load(env{"BCRYPT_COST": "9"}.get)
	if err == nil {
		t.Fatal("want an error")
	}
	if got, want := err.Error(), "BCRYPT_COST=9: must be at least 10 (OWASP Password Storage Cheat Sheet)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		t.Errorf("error %T is not an errors.Join result", err)
	}
}

// REDIS_CA_FILE verifies a TLS connection to Redis, so it is taken only
// with a rediss:// REDIS_URL; refused otherwise, naming the variable and
// without the URL's password.
func TestLoad_RedisCAFileNeedsRediss(t *testing.T) {
	t.Parallel()
	got, err := Load(env{"REDIS_URL": "rediss://alice:hunter2@cache:6380/0", "REDIS_CA_FILE": " /etc/ssl/redis-ca.pem "}.get)
	if err != nil {
		t.Fatalf("rediss:// with REDIS_CA_FILE: %v", err)
	}
	if got.RedisCAFile != "/etc/ssl/redis-ca.pem" || got.RedisURL != "rediss://alice:hunter2@cache:6380/0" {
		t.Errorf("RedisCAFile %q, RedisURL %q", got.RedisCAFile, got.RedisURL)
	}
	if got, err := Load(env{"REDIS_URL": "rediss://cache:6380/0"}.get); err != nil || got.RedisCAFile != "" {
		t.Errorf("rediss:// without REDIS_CA_FILE: RedisCAFile %q, error %v; want the system's roots (\"\")", got.RedisCAFile, err)
	}
	for name, e := range map[string]env{
		"redis://":     {"REDIS_URL": "redis://:hunter2@cache:6379/0", "REDIS_CA_FILE": "/etc/ssl/redis-ca.pem"},
		"no REDIS_URL": {"REDIS_CA_FILE": "/etc/ssl/redis-ca.pem"},
	} {
		_, err := Load(e.get)
		if err == nil || !strings.Contains(err.Error(), "REDIS_CA_FILE") {
			t.Errorf("%s with REDIS_CA_FILE: error %v, want one naming REDIS_CA_FILE", name, err)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error leaks the password: %v", name, err)
		}
	}
}

func TestLoad_LabAttackerAddrOffByDefaultAndOnAnotherHost(t *testing.T) {
	load := func(env map[string]string) (Config, error) {
		return Load(func(k string) string { return env[k] })
	}
	if c, err := load(nil); err != nil || c.LabAttackerAddr != "" {
		t.Fatalf("default: %q, %v; want off", c.LabAttackerAddr, err)
	}
	if c, err := load(map[string]string{"ADDR": "localhost:8080", "LAB_ATTACKER_ADDR": "127.0.0.1:8081"}); err != nil || c.LabAttackerAddr != "127.0.0.1:8081" {
		t.Fatalf("127.0.0.1:8081 beside localhost:8080: %q, %v", c.LabAttackerAddr, err)
	}
	for _, bad := range []string{"localhost:8081", "127.0.0.1", ":8081", "nonsense"} {
		_, err := load(map[string]string{"ADDR": "localhost:8080", "LAB_ATTACKER_ADDR": bad})
		if err == nil || !strings.Contains(err.Error(), "LAB_ATTACKER_ADDR") {
			t.Errorf("LAB_ATTACKER_ADDR=%q beside localhost:8080: %v, want an error naming it", bad, err)
		}
	}
}

func TestLoad_LogLevelAndShutdownDelay(t *testing.T) {
	load := func(env map[string]string) (Config, error) {
		return Load(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"LOG_LEVEL": "debug", "SHUTDOWN_DELAY": "3s"})
	if err != nil || c.LogLevel != slog.LevelDebug || c.ShutdownDelay != 3*time.Second {
		t.Fatalf("LOG_LEVEL=debug SHUTDOWN_DELAY=3s: %v %v %v", c.LogLevel, c.ShutdownDelay, err)
	}
	for k, v := range map[string]string{"LOG_LEVEL": "verbose", "SHUTDOWN_DELAY": "2m"} {
		if _, err := load(map[string]string{k: v}); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v, want an error naming it", k, v, err)
		}
	}
}
