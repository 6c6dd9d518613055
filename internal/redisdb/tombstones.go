package redisdb

import (
	"context"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Tombstones keeps session.Tombstones as Redis keys PREFIX+name that
// expire with their ttl. Names hold store keys (SHA-256 of tokens) and
// registry ids, never a token.
type Tombstones struct {
	pool   *redis.Pool
	prefix string // e.g. "sessionlab:ended:"
}

// Mark writes one key per name, in one round trip.
func (t *Tombstones) Mark(ctx context.Context, ttl time.Duration, names ...string) error {
	if len(names) == 0 {
		return nil
	}
	conn, err := t.pool.GetContext(ctx)
	if err != nil {
		return fmt.Errorf("session tombstone: %w", err)
	}
	defer conn.Close()
	ms := max(ttl.Milliseconds(), 1)
	for _, n := range names {
		if err := conn.Send("SET", t.prefix+n, 1, "PX", ms); err != nil {
			return fmt.Errorf("session tombstone: %w", err)
		}
	}
	if _, err := redis.DoContext(conn, ctx, ""); err != nil {
		return fmt.Errorf("session tombstone: %w", err)
	}
	return nil
}

// AnyMarked is one EXISTS over every name.
func (t *Tombstones) AnyMarked(ctx context.Context, names ...string) (bool, error) {
	if len(names) == 0 {
		return false, nil
	}
	args := make([]any, len(names))
	for i, n := range names {
		args[i] = t.prefix + n
	}
	n, err := redis.Int(do(ctx, t.pool, "EXISTS", args...))
	if err != nil {
		return false, fmt.Errorf("session tombstone check: %w", err)
	}
	return n > 0, nil
}
