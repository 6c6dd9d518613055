package session

import (
	"context"
	"fmt"
	"time"

	"log/slog"
	"sync"

	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/database"
)

// DefaultRedisNamespace prefixes every key the app writes in Redis:
// sessions under NAMESPACE+"session:", the registry under
// NAMESPACE+"registry:", each kept apart so nothing that reads one can
// touch the other.
const DefaultRedisNamespace = "sessionlab:"

// Store is where sessions and the per-user registry live, with the
// operations the app needs beside scs's: a readiness ping and a clean
// shutdown.
type Store struct {
	scs.CtxStore
	// Kind names the store for logs and pages: "redis", "sqlite" or "postgres".
	Kind     string
	Registry Registry
	ping     func(context.Context) error
	close    func() error
}

// Ping reports whether the store answers.
func (s *Store) Ping(ctx context.Context) error { return s.ping(ctx) }

// Close stops background work and releases connections.
func (s *Store) Close() error { return s.close() }

// Redis pool limits. MaxIdle equals MaxActive: a smaller MaxIdle closes and
// redials connections under load.
const (
	redisMaxActive      = 64
	redisConnectTimeout = 2 * time.Second
	redisIOTimeout      = time.Second
	redisIdleTimeout    = 4 * time.Minute
	redisCheckAfterIdle = 10 * time.Second
)

// NewRedisPool returns a redigo pool for rawURL (redis://host:port/db).
//
// SECURITY(availability): redigo has no timeouts by default and redisstore
// ignores the request context, so one hung Redis would hang every request.
// Connect, read and write timeouts bound each call, TestOnBorrow drops dead
// connections, MaxActive bounds the load put on Redis — fail closed and
// fast rather than hang — ASVS 5.0 13.2.6 (resource limits on backend calls).
func NewRedisPool(rawURL string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     redisMaxActive,
		MaxActive:   redisMaxActive,
		Wait:        true, // bounded: a held connection is released within redisIOTimeout
		IdleTimeout: redisIdleTimeout,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialURLContext(ctx, rawURL,
				redis.DialConnectTimeout(redisConnectTimeout),
				redis.DialReadTimeout(redisIOTimeout),
				redis.DialWriteTimeout(redisIOTimeout),
			)
		},
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if time.Since(lastUsed) < redisCheckAfterIdle {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// NewRedisStore keeps sessions and the registry in Redis under namespace
// (DefaultRedisNamespace in production; tests use their own). The pool is
// closed by Store.Close.
func NewRedisStore(pool *redis.Pool, namespace string) *Store {
	sessionPrefix := namespace + "session:"
	return &Store{
		CtxStore: &redisStore{pool: pool, prefix: sessionPrefix},
		Kind:     "redis",
		Registry: &redisRegistry{pool: pool, prefix: namespace + "registry:", sessionPrefix: sessionPrefix},
		ping: func(ctx context.Context) error {
			conn, err := pool.GetContext(ctx)
			if err != nil {
				return fmt.Errorf("redis: %w", err)
			}
			defer conn.Close()
			if _, err := redis.DoContext(conn, ctx, "PING"); err != nil {
				return fmt.Errorf("redis ping: %w", err)
			}
			return nil
		},
		close: pool.Close,
	}
}

// sqlCleanupInterval is how often expired rows are deleted from the
// sessions and user_sessions tables. Expired rows are never loaded (every
// read compares the expiry); the cleanup only reclaims space.
const sqlCleanupInterval = 5 * time.Minute

// NewSQLStore keeps sessions in the sessions table of the app's database
// and the registry in user_sessions. The database itself is closed by its
// owner, not by Store.Close.
func NewSQLStore(db *database.DB, log *slog.Logger) (*Store, error) {
	st, err := newSQLStore(db)
	if err != nil {
		return nil, err
	}
	stop := make(chan struct{})
	go st.runCleanup(sqlCleanupInterval, stop, log)
	var once sync.Once
	return &Store{
		CtxStore: st,
		Kind:     db.Dialect,
		Registry: &sqlRegistry{db: db, store: st},
		ping:     db.Ping,
		close:    func() error { once.Do(func() { close(stop) }); return nil },
	}, nil
}
