package session

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/postgresstore"
	"github.com/alexedwards/scs/redisstore"
	"github.com/alexedwards/scs/sqlite3store"
	"github.com/alexedwards/scs/v2"
	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/database"
)

// DefaultRedisPrefix is where session entries live in Redis. Other keys the
// app writes (the registry, rate-limit counters) stay outside it.
const DefaultRedisPrefix = "sessionlab:session:"

// Store is a session store with the operations the app needs beside scs's:
// a readiness ping and a clean shutdown.
type Store struct {
	scs.Store
	// Kind names the store for logs and pages: "redis", "sqlite" or "postgres".
	Kind  string
	ping  func(context.Context) error
	close func() error
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

// NewRedisStore keeps sessions in Redis under prefix, through scs's
// redisstore. The pool is closed by Store.Close.
func NewRedisStore(pool *redis.Pool, prefix string) *Store {
	return &Store{
		Store: redisstore.NewWithPrefix(pool, prefix),
		Kind:  "redis",
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
// sessions table. Expired rows are never loaded (the stores compare expiry
// on every read); the cleanup only reclaims space.
const sqlCleanupInterval = 5 * time.Minute

// NewSQLStore keeps sessions in the sessions table of the app's database
// (scs sqlite3store or postgresstore, per dialect). The database itself is
// closed by its owner, not by Store.Close.
func NewSQLStore(db *database.DB) (*Store, error) {
	switch db.Dialect {
	case "sqlite":
		st := sqlite3store.NewWithCleanupInterval(db.SQL, sqlCleanupInterval)
		return &Store{Store: st, Kind: "sqlite", ping: db.Ping, close: func() error { st.StopCleanup(); return nil }}, nil
	case "postgres":
		st := postgresstore.NewWithCleanupInterval(db.SQL, sqlCleanupInterval)
		return &Store{Store: st, Kind: "postgres", ping: db.Ping, close: func() error { st.StopCleanup(); return nil }}, nil
	default:
		return nil, fmt.Errorf("session store: unknown dialect %q", db.Dialect)
	}
}
