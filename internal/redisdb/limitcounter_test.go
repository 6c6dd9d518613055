package redisdb

import (
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

func TestLimitCounter_SharedCountsThatExpire(t *testing.T) {
	u := testenv.RedisURL(t)
	prefix := testenv.RedisPrefix(t, u) + "ratelimit:"
	pool := NewPool(u)
	t.Cleanup(func() { pool.Close() })

	// Two replicas, one Redis.
	a, b := NewLimitCounter(pool, prefix), NewLimitCounter(pool, prefix)
	a.Config(10, time.Minute)
	b.Config(10, time.Minute)
	now := time.Now().UTC().Truncate(time.Minute)
	prev := now.Add(-time.Minute)
	const email = "alice@example.com"

	if err := a.IncrementBy(email, prev, 4); err != nil {
		t.Fatal(err)
	}
	if err := a.Increment(email, now); err != nil {
		t.Fatal(err)
	}
	if err := b.IncrementBy(email, now, 2); err != nil {
		t.Fatal(err)
	}
	curr, previous, err := b.Get(email, now, prev)
	if err != nil {
		t.Fatal(err)
	}
	if curr != 3 || previous != 4 {
		t.Errorf("Get = %d current, %d previous; want 3 and 4 counted across both counters", curr, previous)
	}
	if curr, previous, err := a.Get("someone-else@example.com", now, prev); err != nil || curr != 0 || previous != 0 {
		t.Errorf("Get(other key) = %d, %d, %v; want 0, 0, nil", curr, previous, err)
	}

	conn, err := redis.DialURL(u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	keys := testenv.RedisKeys(t, conn, prefix)
	if len(keys) != 2 {
		t.Fatalf("keys under %s: %q, want one per window", prefix, keys)
	}
	for _, k := range keys {
		if strings.Contains(k, email) || strings.Contains(k, "alice") {
			t.Errorf("key %q names the email", k)
		}
		ttl, err := redis.Int64(conn.Do("PTTL", k))
		if err != nil {
			t.Fatal(err)
		}
		if ttl <= 0 || ttl > (2*time.Minute+time.Second).Milliseconds() {
			t.Errorf("key %q expires in %d ms, want an expiry of at most two windows and a second", k, ttl)
		}
	}
}

func TestLimitCounter_RedisDownIsAnError(t *testing.T) {
	pool := NewPool("redis://127.0.0.1:1/0")
	t.Cleanup(func() { pool.Close() })
	c := NewLimitCounter(pool, "x:")
	c.Config(1, time.Minute)
	now := time.Now()
	if err := c.Increment("k", now); err == nil {
		t.Error("Increment with Redis down: nil error")
	}
	if _, _, err := c.Get("k", now, now.Add(-time.Minute)); err == nil {
		t.Error("Get with Redis down: nil error")
	}
}
