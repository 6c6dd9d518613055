package testenv

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// RedisURL is the Redis the tests use: TEST_REDIS_URL, or the local
// default. When nothing answers there but redis-server is installed, it
// is a redis-server of the tests' own, started once per test binary and
// gone when the binary exits; in CI (CI=true) it is always the configured
// one, so that CI tests what it was set up to. Without either it follows
// the rules of Unavailable.
func RedisURL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv("TEST_REDIS_URL")
	if u == "" {
		u = "redis://127.0.0.1:6379/0"
	}
	r := resolveRedis(u)
	if r.err != nil {
		unavailable(tb, "Redis", r.reason, r.err)
		return ""
	}
	return r.url
}

// redisChoice is where the tests of this binary find Redis, decided once
// per configured URL: a Redis that is down stays down for the whole run.
type redisChoice struct {
	url    string
	err    error  // nothing to use
	reason string // why, for the summary
}

var redisChoices struct {
	sync.Mutex
	byURL map[string]redisChoice
}

func resolveRedis(configured string) redisChoice {
	redisChoices.Lock()
	defer redisChoices.Unlock()
	if c, ok := redisChoices.byURL[configured]; ok {
		return c
	}
	c := chooseRedis(configured)
	if redisChoices.byURL == nil {
		redisChoices.byURL = map[string]redisChoice{}
	}
	redisChoices.byURL[configured] = c
	return c
}

func chooseRedis(configured string) redisChoice {
	err := pingRedis(configured)
	if err == nil {
		return redisChoice{url: configured}
	}
	down := reasonFor(err)
	if inCI() {
		return redisChoice{err: err, reason: down}
	}
	own, startErr := startOwnRedis()
	switch {
	case startErr == nil:
		record("note", "Redis", down+"; the tests started a redis-server of their own")
		return redisChoice{url: own}
	case errors.Is(startErr, exec.ErrNotFound):
		return redisChoice{err: err, reason: down + ", and no redis-server installed to start one"}
	default:
		return redisChoice{err: err, reason: down + ", and redis-server did not start: " + oneLine(startErr)}
	}
}

func pingRedis(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := redis.DialURLContext(ctx, u, redis.DialConnectTimeout(2*time.Second), redis.DialReadTimeout(2*time.Second))
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Do("PING")
	return err
}

// startOwnRedis starts the redis-server RedisURL falls back to, on a free
// loopback port, for the lifetime of this test binary.
func startOwnRedis() (string, error) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		return "", err
	}
	port, err := freePort()
	if err != nil {
		return "", err
	}
	args, dialOpts := RedisServerOptions{}.command(port)
	r, w, err := os.Pipe()
	if err != nil {
		return "", err
	}
	defer r.Close() // the shell's end, once it has it
	// No test's cleanup can stop a server that outlives every test, so the
	// shell does, when its stdin reaches end of file.
	cmd := exec.Command("/bin/sh", append([]string{"-c", `redis-server "$@" & read -r _; kill $!; wait`, "sh"}, args...)...)
	var out SyncBuffer // its log, shown if it does not come up
	cmd.Stdin, cmd.Stdout, cmd.Stderr = r, &out, &out
	// Out of the terminal's process group, so that Ctrl-C does not kill
	// the shell before it can stop the server (which, started in the
	// background, ignores SIGINT).
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return "", err
	}
	// w is the lifeline: when this process exits, however it exits, the
	// pipe closes and the shell stops the server. This goroutine keeps it
	// open (and out of the garbage collector, which would close it) until
	// then, or until the shell has gone anyway.
	go func() {
		cmd.Wait()
		w.Close()
	}()
	if err := waitForRedis(port, dialOpts); err != nil {
		w.Close()
		return "", fmt.Errorf("no answer on port %d: %v: %s", port, err, out.String())
	}
	return RedisServerOptions{}.url(port), nil
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
