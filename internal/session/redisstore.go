package session

import (
	"context"
	"errors"
	"time"

	"github.com/gomodule/redigo/redis"
)

// redisStore keeps sessions in Redis, one string key per session under
// prefix, expiring with the session. It is scs's redisstore with two
// changes: every call honours the request context, and saving a session
// this request loaded uses SET … XX, so it cannot recreate a session that
// was deleted while the request was in flight. Each operation is a single
// round trip, and a request that changed nothing but the idle expiry
// saves only once per refresh interval.
type redisStore struct {
	pool   *redis.Pool
	prefix string
}

func (s *redisStore) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return nil, false, err
	}
	defer conn.Close()
	// One round trip: the data and the key's expiry (PEXPIRETIME, Redis 7).
	conn.Send("GET", s.prefix+key)
	conn.Send("PEXPIRETIME", s.prefix+key)
	vals, err := redis.Values(redis.DoContext(conn, ctx, ""))
	if err != nil {
		return nil, false, err
	}
	b, err := redis.Bytes(vals[0], nil)
	if errors.Is(err, redis.ErrNil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	var expiry time.Time
	if ms, err := redis.Int64(vals[1], nil); err == nil && ms > 0 {
		expiry = time.UnixMilli(ms)
	}
	markLoaded(ctx, key, b, expiry)
	return b, true, nil
}

func (s *redisStore) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	if unchanged(ctx, key, b, expiry) {
		return nil
	}
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	args := []any{s.prefix + key, b, "PXAT", expiry.UnixMilli()}
	if wasLoaded(ctx, key) {
		args = append(args, "XX") // never recreate a deleted session
	}
	// With XX and the key gone (revoked meanwhile) Redis sets nothing and
	// answers nil: the session stays gone.
	_, err = redis.DoContext(conn, ctx, "SET", args...)
	return err
}

func (s *redisStore) DeleteCtx(ctx context.Context, key string) error {
	conn, err := s.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = redis.DoContext(conn, ctx, "DEL", s.prefix+key)
	return err
}

// The context-free scs.Store methods, for callers outside a request.
func (s *redisStore) Find(key string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), key)
}
func (s *redisStore) Commit(key string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), key, b, expiry)
}
func (s *redisStore) Delete(key string) error { return s.DeleteCtx(context.Background(), key) }
