package redisdb

import (
	"context"
	"fmt"
	"time"

	"github.com/alexedwards/scs/redisstore"
	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/session"
)

// NewSessionStore keeps sessions in Redis under namespace+"session:"
// through scs's own redisstore, unmodified, on pool; the revocation
// guard's tombstones under namespace+"ended:" and the registry under
// namespace+"registry:". The pool is closed by Store.Close.
func NewSessionStore(pool *redis.Pool, namespace string) *session.Store {
	sessionPrefix := namespace + "session:"
	return session.NewStore(session.StoreParts{
		Kind:        "redis",
		Sessions:    redisstore.NewWithPrefix(pool, sessionPrefix),
		Connections: pool.MaxActive,
		Tombstones:  &Tombstones{pool: pool, prefix: namespace + "ended:"},
		Registry:    &Registry{pool: pool, prefix: namespace + "registry:", sessionPrefix: sessionPrefix},
		Ping: func(ctx context.Context) error {
			if _, err := do(ctx, pool, "PING"); err != nil {
				return fmt.Errorf("redis ping: %w", err)
			}
			return nil
		},
		Close: pool.Close,
		Inspect: func(ctx context.Context, storeKey string) (string, time.Duration, bool, error) {
			name := sessionPrefix + storeKey
			ms, err := redis.Int64(do(ctx, pool, "PTTL", name))
			if err != nil {
				return name, 0, false, fmt.Errorf("redis pttl: %w", err)
			}
			if ms < 0 { // -2: no such key; -1 would be a key without expiry, which the app never writes
				return name, 0, ms == -1, nil
			}
			return name, time.Duration(ms) * time.Millisecond, true, nil
		},
	})
}
