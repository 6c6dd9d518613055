package redisdb

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// secret is a password no log or error could hold by chance: random hex
// (which no encoding changes) between characters a URL must escape.
func secret(t *testing.T) (password, core string) {
	t.Helper()
	b := make([]byte, 12)
	rand.Read(b)
	core = hex.EncodeToString(b)
	return "p/" + core + "+:@ %", core
}

// managedRedis is a redis-server that speaks TLS only, with a certificate
// from ca for 127.0.0.1 and localhost, a requirepass for the default user
// and an ACL user "alice".
func managedRedis(t *testing.T, ca *testenv.TestCA, defaultPW, alicePW string) *testenv.RedisServer {
	t.Helper()
	cert, key := ca.Issue(t, "127.0.0.1", "localhost")
	return testenv.StartRedisServerWith(t, testenv.RedisServerOptions{
		TLS: &testenv.RedisTLS{CertFile: cert, KeyFile: key, CA: ca},
		Args: []string{"--requirepass", defaultPW,
			"--user", "alice", "on", ">" + alicePW, "~*", "&*", "+@all"},
	})
}

// redisURL is rediss://user:password@127.0.0.1:port/0 with the password
// percent-encoded as REDIS_URL must carry it.
func redisURL(scheme string, port int, user *url.Userinfo) string {
	u := url.URL{Scheme: scheme, User: user, Host: "127.0.0.1:" + strconv.Itoa(port), Path: "/0"}
	return u.String()
}

// whoami borrows a connection from a fresh pool and asks Redis which user
// it is, after a write and a read (so the user may do the app's work).
func whoami(t *testing.T, rawURL string, tc *tls.Config) (string, error) {
	t.Helper()
	pool := NewPoolTLS(rawURL, tc)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := do(ctx, pool, "SET", "sessionlab-test:managed", "v", "EX", 60); err != nil {
		return "", err
	}
	if v, err := redis.String(do(ctx, pool, "GET", "sessionlab-test:managed")); err != nil || v != "v" {
		return "", errors.Join(err, errors.New("GET did not return what SET wrote"))
	}
	return redis.String(do(ctx, pool, "ACL", "WHOAMI"))
}

// A managed Redis: TLS only, verified against the CA given, with an ACL
// user or the requirepass password; every way of getting the trust,
// the name or the password wrong fails, and no error holds the password.
func TestNewPoolTLS_ManagedRedis(t *testing.T) {
	ca := testenv.NewTestCA(t)
	defaultPW, defaultCore := secret(t)
	alicePW, aliceCore := secret(t)
	srv := managedRedis(t, ca, defaultPW, alicePW)
	port := srv.Port()
	trustCA := &tls.Config{RootCAs: ca.Pool}

	noSecret := func(t *testing.T, err error) {
		t.Helper()
		for _, core := range []string{defaultCore, aliceCore} {
			if err != nil && strings.Contains(err.Error(), core) {
				t.Errorf("the error holds a password: %v", err)
			}
		}
	}

	t.Run("ACL user", func(t *testing.T) {
		who, err := whoami(t, redisURL("rediss", port, url.UserPassword("alice", alicePW)), trustCA)
		if err != nil || who != "alice" {
			t.Fatalf("rediss://alice:…@: user %q, error %v; want alice", who, err)
		}
	})
	t.Run("password only", func(t *testing.T) {
		who, err := whoami(t, redisURL("rediss", port, url.UserPassword("", defaultPW)), trustCA)
		if err != nil || who != "default" {
			t.Fatalf("rediss://:…@: user %q, error %v; want default", who, err)
		}
	})
	t.Run("caller's config is not changed", func(t *testing.T) {
		tc := &tls.Config{RootCAs: ca.Pool}
		if _, err := whoami(t, redisURL("rediss", port, url.UserPassword("alice", alicePW)), tc); err != nil {
			t.Fatal(err)
		}
		if tc.ServerName != "" || tc.MinVersion != 0 {
			t.Errorf("NewPoolTLS changed the caller's tls.Config: ServerName %q, MinVersion %x", tc.ServerName, tc.MinVersion)
		}
	})

	refused := []struct {
		name   string
		rawURL string
		tc     *tls.Config
		want   func(error) bool
	}{
		{"wrong password for the user", redisURL("rediss", port, url.UserPassword("alice", defaultPW)), trustCA,
			func(err error) bool { return strings.HasPrefix(err.Error(), "WRONGPASS") }},
		{"wrong requirepass", redisURL("rediss", port, url.UserPassword("", alicePW)), trustCA,
			func(err error) bool { return strings.HasPrefix(err.Error(), "WRONGPASS") }},
		{"no password", redisURL("rediss", port, nil), trustCA,
			func(err error) bool { return strings.HasPrefix(err.Error(), "NOAUTH") }},
		{"server from another CA", redisURL("rediss", port, url.UserPassword("alice", alicePW)),
			&tls.Config{RootCAs: testenv.NewTestCA(t).Pool},
			func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
		{"system roots (the test CA is not one)", redisURL("rediss", port, url.UserPassword("alice", alicePW)), nil,
			func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
		{"InsecureSkipVerify is ignored", redisURL("rediss", port, url.UserPassword("alice", alicePW)),
			&tls.Config{InsecureSkipVerify: true},
			func(err error) bool { var e x509.UnknownAuthorityError; return errors.As(err, &e) }},
		{"plain redis:// on the TLS port", redisURL("redis", port, url.UserPassword("alice", alicePW)), trustCA,
			func(err error) bool { return err != nil }},
		{"unparsable URL", "rediss://alice:" + url.PathEscape(alicePW) + "@127.0.0.1:port/0", trustCA,
			func(err error) bool { return errors.Is(err, errBadURL) }},
		{"opaque URL", "rediss:alice:" + alicePW, trustCA,
			func(err error) bool { return errors.Is(err, errBadURL) }},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			who, err := whoami(t, tt.rawURL, tt.tc)
			if err == nil {
				t.Fatalf("connected as %q, want an error", who)
			}
			if !tt.want(err) {
				t.Errorf("error %q (%T) is not the one expected", err, err)
			}
			noSecret(t, err)
		})
	}
}

// The certificate must name the host in the URL: a certificate from the
// trusted CA, for another host, is refused.
func TestNewPoolTLS_RefusesACertificateForAnotherHost(t *testing.T) {
	ca := testenv.NewTestCA(t)
	pw, _ := secret(t)
	other, otherKey := ca.Issue(t, "redis.example.internal")
	srv := testenv.StartRedisServerWith(t, testenv.RedisServerOptions{
		TLS:  &testenv.RedisTLS{CertFile: other, KeyFile: otherKey, CA: ca},
		Args: []string{"--requirepass", pw},
	})
	_, err := whoami(t, redisURL("rediss", srv.Port(), url.UserPassword("", pw)), &tls.Config{RootCAs: ca.Pool})
	var e x509.HostnameError
	if !errors.As(err, &e) {
		t.Fatalf("error %v, want a host name mismatch", err)
	}
}

// The floor and the name are set whatever the caller passes.
func TestClientTLSConfig(t *testing.T) {
	for _, base := range []*tls.Config{nil, {}, {MinVersion: tls.VersionTLS10, InsecureSkipVerify: true}} {
		c := clientTLSConfig("cache.example", base)
		if c.MinVersion != tls.VersionTLS12 || c.ServerName != "cache.example" || c.InsecureSkipVerify {
			t.Errorf("clientTLSConfig(%+v): MinVersion %x, ServerName %q, InsecureSkipVerify %v; want TLS 1.2, cache.example, false",
				base, c.MinVersion, c.ServerName, c.InsecureSkipVerify)
		}
	}
	c := clientTLSConfig("10.0.0.5", &tls.Config{MinVersion: tls.VersionTLS13, ServerName: "cache.internal"})
	if c.MinVersion != tls.VersionTLS13 || c.ServerName != "cache.internal" {
		t.Errorf("a stricter floor or an explicit name was overridden: %x %q", c.MinVersion, c.ServerName)
	}
}
