package testenv

import (
	"context"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// RedisURL is the Redis the tests use: TEST_REDIS_URL, or the local
// default. It follows the rules of Unavailable when Redis does not answer.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := redis.DialURLContext(ctx, u, redis.DialConnectTimeout(2*time.Second), redis.DialReadTimeout(2*time.Second))
	if err == nil {
		_, err = conn.Do("PING")
		conn.Close()
	}
	if err != nil {
		Unavailable(tb, "Redis", err)
	}
	return u
}

// RedisPrefix returns a key prefix no other test uses, and deletes every
// key under it when the test ends.
func RedisPrefix(tb testing.TB, redisURL string) string {
	tb.Helper()
	prefix := "sessionlab-test:" + hex.EncodeToString(randomBytes(6)) + ":"
	tb.Cleanup(func() {
		conn, err := redis.DialURL(redisURL)
		if err != nil {
			tb.Errorf("clean up Redis prefix %s: %v", prefix, err)
			return
		}
		defer conn.Close()
		for _, k := range RedisKeys(tb, conn, prefix) {
			if _, err := conn.Do("DEL", k); err != nil {
				tb.Errorf("clean up Redis key %s: %v", k, err)
			}
		}
	})
	return prefix
}

// RedisKeys lists the keys under prefix with SCAN (test code only: the app
// never scans on a request path).
func RedisKeys(tb testing.TB, conn redis.Conn, prefix string) []string {
	tb.Helper()
	var keys []string
	cursor := 0
	for {
		vals, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			tb.Fatalf("scan Redis keys %s*: %v", prefix, err)
		}
		cursor, _ = redis.Int(vals[0], nil)
		batch, _ := redis.Strings(vals[1], nil)
		keys = append(keys, batch...)
		if cursor == 0 {
			return keys
		}
	}
}
