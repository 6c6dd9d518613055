package redisdb

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	"github.com/gomodule/redigo/redis"
)

// redisCounterTimeout bounds one counter operation, waiting for a pooled
// connection included.
const redisCounterTimeout = 2 * time.Second

// LimitCounter is an httprate.LimitCounter kept in Redis, so that
// every replica of the app counts against the same limits. httprate's
// sliding window reads two fixed windows per key (the current and the
// previous one); each lives in its own Redis key:
//
//	PREFIX + hex(SHA-256(key))[:32] + ":" + window start in Unix milliseconds
//
// SECURITY(throttling): limits held in one process's memory multiply by
// the number of replicas; a shared counter keeps "10 failures per account"
// true across all of them — ASVS 5.0 6.3.1.
type LimitCounter struct {
	pool   *redis.Pool
	prefix string

	mu     sync.RWMutex
	window time.Duration
}

var _ httprate.LimitCounter = (*LimitCounter)(nil)

// NewLimitCounter counts in Redis through pool, under prefix. The
// prefix must not be the session store's: nothing that reads sessions may
// see a counter, and the other way round.
func NewLimitCounter(pool *redis.Pool, prefix string) *LimitCounter {
	return &LimitCounter{pool: pool, prefix: prefix, window: time.Minute}
}

// Config is called by whoever owns the counter with the window length.
func (c *LimitCounter) Config(requestLimit int, windowLength time.Duration) {
	c.mu.Lock()
	c.window = windowLength
	c.mu.Unlock()
}

// Increment adds one to key's count in the window starting at currentWindow.
func (c *LimitCounter) Increment(key string, currentWindow time.Time) error {
	return c.IncrementBy(key, currentWindow, 1)
}

// IncrementBy adds amount to key's count in the window starting at
// currentWindow, atomically with setting the key's expiry.
//
// Every key expires two windows and a second after it was written, just
// past the last moment httprate reads it as the "previous" window.
//
// SECURITY(throttling): Redis never fills with stale counters, so a flood
// of made-up emails costs the attacker more than it costs us — ASVS 5.0
// 15.2.2.
func (c *LimitCounter) IncrementBy(key string, currentWindow time.Time, amount int) error {
	ctx, cancel := context.WithTimeout(context.Background(), redisCounterTimeout)
	defer cancel()
	conn, err := c.pool.GetContext(ctx)
	if err != nil {
		return fmt.Errorf("rate-limit counter: %w", err)
	}
	defer conn.Close()
	k := c.key(key, currentWindow)
	ttl := 2*c.windowLength() + time.Second
	if err := conn.Send("MULTI"); err != nil {
		return fmt.Errorf("rate-limit counter: %w", err)
	}
	conn.Send("INCRBY", k, amount)
	conn.Send("PEXPIRE", k, ttl.Milliseconds())
	if _, err := redis.DoContext(conn, ctx, "EXEC"); err != nil {
		return fmt.Errorf("rate-limit counter: increment: %w", err)
	}
	return nil
}

// Get returns key's counts in the current and the previous window (zero
// for a window never written or already expired).
func (c *LimitCounter) Get(key string, currentWindow, previousWindow time.Time) (int, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisCounterTimeout)
	defer cancel()
	conn, err := c.pool.GetContext(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("rate-limit counter: %w", err)
	}
	defer conn.Close()
	counts, err := redis.Ints(redis.DoContext(conn, ctx, "MGET", c.key(key, currentWindow), c.key(key, previousWindow)))
	if err != nil {
		return 0, 0, fmt.Errorf("rate-limit counter: get: %w", err)
	}
	return counts[0], counts[1], nil
}

func (c *LimitCounter) windowLength() time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.window
}

// key names the Redis key of key's count in window.
//
// SECURITY(throttling): keys are often email addresses; only a hash of
// them appears in Redis key names, which monitoring and `redis-cli --scan`
// show — ASVS 5.0 16.2.5.
func (c *LimitCounter) key(key string, window time.Time) string {
	sum := sha256.Sum256([]byte(key))
	return c.prefix + hex.EncodeToString(sum[:16]) + ":" + strconv.FormatInt(window.UnixMilli(), 10)
}

// LimitCounters returns a counter factory for auth.NewThrottle: each named
// budget gets its own LimitCounter under prefix+name+":".
func LimitCounters(pool *redis.Pool, prefix string) func(name string) httprate.LimitCounter {
	return func(name string) httprate.LimitCounter {
		return NewLimitCounter(pool, prefix+name+":")
	}
}

// tryIncrementScript is httprate's sliding-window check and the increment
// in one step: KEYS current and previous window; ARGV elapsed and window
// (ms), the limit, the key's expiry (ms).
var tryIncrementScript = redis.NewScript(2, `
local curr = tonumber(redis.call('GET', KEYS[1]) or '0')
local prev = tonumber(redis.call('GET', KEYS[2]) or '0')
local t, w, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
if prev * (w - t) <= (max - 1 - curr) * w then
  redis.call('INCR', KEYS[1])
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
  return {1, curr + 1, prev}
end
return {0, curr, prev}
`)

// TryIncrement implements auth.AtomicCounter: the check and the increment
// run as one Redis script, so replicas sharing the counter cannot both
// take the last unit.
func (c *LimitCounter) TryIncrement(key string, current, previous time.Time, elapsed, window time.Duration, max int) (bool, int, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), redisCounterTimeout)
	defer cancel()
	conn, err := c.pool.GetContext(ctx)
	if err != nil {
		return false, 0, 0, fmt.Errorf("rate-limit counter: %w", err)
	}
	defer conn.Close()
	ttl := 2*window + time.Second
	vals, err := redis.Ints(tryIncrementScript.DoContext(ctx, conn, c.key(key, current), c.key(key, previous),
		elapsed.Milliseconds(), window.Milliseconds(), max, ttl.Milliseconds()))
	if err != nil {
		return false, 0, 0, fmt.Errorf("rate-limit counter: reserve: %w", err)
	}
	return vals[0] == 1, vals[1], vals[2], nil
}
