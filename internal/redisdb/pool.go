package redisdb

import (
	"context"
	"time"

	"github.com/gomodule/redigo/redis"
)

// DefaultNamespace prefixes every key the app writes in Redis: sessions
// under NAMESPACE+"session:", the registry under NAMESPACE+"registry:",
// tombstones under NAMESPACE+"ended:", throttling counters under
// NAMESPACE+"ratelimit:", each kept apart so nothing that reads one can
// touch the other.
const DefaultNamespace = "sessionlab:"

// Pool limits. MaxIdle equals MaxActive: a smaller MaxIdle closes and
// redials connections under load.
const (
	maxActive      = 64
	connectTimeout = 2 * time.Second
	ioTimeout      = time.Second
	idleTimeout    = 4 * time.Minute
	checkAfterIdle = 10 * time.Second
)

// NewPool returns a redigo pool for rawURL (redis://host:port/db).
//
// SECURITY(fail-closed): redigo has no timeouts by default and redisstore
// ignores the request context, so one hung Redis would hang every request.
// Connect, read and write timeouts bound each call, TestOnBorrow drops dead
// connections, MaxActive bounds the load put on Redis — ASVS 5.0 13.2.6.
func NewPool(rawURL string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     maxActive,
		MaxActive:   maxActive,
		Wait:        true, // bounded: a held connection is released within ioTimeout
		IdleTimeout: idleTimeout,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialURLContext(ctx, rawURL,
				redis.DialConnectTimeout(connectTimeout),
				redis.DialReadTimeout(ioTimeout),
				redis.DialWriteTimeout(ioTimeout),
			)
		},
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if time.Since(lastUsed) < checkAfterIdle {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// do runs one command on a pooled connection, honouring ctx.
func do(ctx context.Context, pool *redis.Pool, cmd string, args ...any) (any, error) {
	conn, err := pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	return redis.DoContext(conn, ctx, cmd, args...)
}
