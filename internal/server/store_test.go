package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// Entries of expired sessions never accumulate: in Redis the registry hash
// expires with its longest-lived session; in SQL, reading prunes them.
// With a cap of two sessions per user, each login also ends the oldest
// (leaving a tombstone); then every session is left to expire. Sessions
// live a second: short, yet long enough for a login's requests under load.
func TestRegistry_ExpiredSessionsArePrunedAndLeaveNothingBehind(t *testing.T) {
	const lifetime, perUser, n = time.Second, 2, 10
	eachBackend(t, func(t *testing.T, b backend) {
		app := newApp(t, b, func(c *config.Config) {
			c.IdleTimeout, c.Lifetime = lifetime, lifetime
			c.SessionsPerUser = perUser
		})
		email, pw := newUser()
		app.newClient().signup(email, pw)
		seen := make(map[string]bool, n)
		for i := range n {
			c := app.newClient()
			c.get("/login")
			if r := c.post("/login", url.Values{"email": {email}, "password": {pw}}); r.status != http.StatusSeeOther {
				t.Fatalf("login %d: %d", i, r.status)
			}
			seen[c.token()] = true
		}
		lastLogin := time.Now()
		// ASVS 5.0 7.2.3: unique tokens.
		if len(seen) != n {
			t.Errorf("%d logins issued %d distinct tokens", n, len(seen))
		}
		// Something to expire: in Redis, sessions, the registry hash and the
		// tombstones of the sessions the cap ended.
		if b.name == "redis" {
			conn := mustRedis(t, app.env.redisURL)
			keys := strings.Join(testenv.RedisKeys(t, conn, app.env.prefix), "\n")
			conn.Close()
			for _, kind := range []string{"session:", "registry:", "ended:"} {
				if !strings.Contains(keys, app.env.prefix+kind) {
					t.Fatalf("no %s key before the sessions expired: nothing to prove", kind)
				}
			}
		}
		time.Sleep(time.Until(lastLogin.Add(lifetime + 100*time.Millisecond)))

		if b.name == "redis" {
			conn := mustRedis(t, app.env.redisURL)
			defer conn.Close()
			if keys := testenv.RedisKeys(t, conn, app.env.prefix); len(keys) != 0 {
				t.Errorf("%d Redis keys left after every session expired, e.g. %q", len(keys), keys[0])
			}
		}

		c := app.newClient()
		c.login(email, pw)
		if current, others := c.listed(); current == "" || len(others) != 0 {
			t.Errorf("/sessions lists %d other sessions after they all expired", len(others))
		}
		if b.name != "redis" {
			if rows := registryRows(t, app); rows != 1 {
				t.Errorf("user_sessions holds %d rows, want 1 (the live session)", rows)
			}
		}
	})
}

// registryRows counts the SQL registry's rows, every user's.
func registryRows(t *testing.T, app *testApp) int {
	t.Helper()
	var rows int
	if err := app.env.db.SQL.QueryRow("SELECT count(*) FROM user_sessions").Scan(&rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// redisTTLs is a debugging aid kept small: every key the app writes expires.
func TestRedisKeys_AllExpire(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		app := newApp(t, b)
		email, pw := newUser()
		a, bc := app.newClient(), app.newClient()
		a.signup(email, pw)
		bc.login(email, pw)
		a.listed()
		conn := mustRedis(t, app.env.redisURL)
		defer conn.Close()
		keys := testenv.RedisKeys(t, conn, app.env.prefix)
		if len(keys) < 3 {
			t.Fatalf("expected session and registry keys, got %v", keys)
		}
		for _, k := range keys {
			ttl, err := redis.Int64(conn.Do("PTTL", k))
			if err != nil || ttl <= 0 {
				t.Errorf("key %s has PTTL %d (err %v), want an expiry", k, ttl, err)
			}
		}
	}
}

// The hot path: a request that changes nothing saves nothing until the
// idle expiry is due to move by a tenth of the idle timeout.
func TestStore_UnchangedSessionIsNotRewrittenOnEveryRequest(t *testing.T) {
	for _, b := range backends() {
		if b.name != "redis" {
			continue
		}
		app := newApp(t, b, func(c *config.Config) { c.IdleTimeout = 3 * time.Second })
		email, pw := newUser()
		c := app.newClient()
		c.signup(email, pw)
		conn := mustRedis(t, app.env.redisURL)
		defer conn.Close()
		key := app.env.prefix + "session:" + session.StoreKey(c.token())
		expiry := func() int64 {
			ms, err := redis.Int64(conn.Do("PEXPIRETIME", key))
			if err != nil || ms <= 0 {
				t.Fatalf("PEXPIRETIME %s = %d, %v", key, ms, err)
			}
			return ms
		}
		first := expiry()
		c.mustBeSignedIn(email)
		if got := expiry(); got != first {
			t.Errorf("an unchanged request rewrote the session (expiry %d → %d)", first, got)
		}
		time.Sleep(400 * time.Millisecond) // past a tenth of the idle timeout
		c.mustBeSignedIn(email)
		if got := expiry(); got <= first {
			t.Errorf("the idle expiry was not refreshed after %v (still %d)", 400*time.Millisecond, got)
		}
	}
}
