package redisdb

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/session"
)

// Registry keeps session.Registry in Redis: one hash per user, field =
// display id, value = the entry as JSON, under its own prefix outside the
// session prefix. The hash expires with the longest-lived session in it,
// so entries of abandoned sessions never accumulate. No KEYS, SCAN or
// Iterate anywhere.
type Registry struct {
	pool          *redis.Pool
	prefix        string // e.g. "sessionlab:registry:"
	sessionPrefix string // the stock store's prefix, to check an entry's session exists
}

var _ session.Registry = (*Registry)(nil)

func (g *Registry) key(userID int64) string {
	return g.prefix + strconv.FormatInt(userID, 10)
}

func (g *Registry) Put(ctx context.Context, userID int64, e session.Entry, keepUntil time.Time) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	k, at := g.key(userID), keepUntil.UnixMilli()
	conn.Send("MULTI")
	conn.Send("HSET", k, e.ID, b)
	// Every key the app writes expires: NX gives a new hash its expiry, GT
	// only ever extends it to cover the longest-lived session.
	conn.Send("PEXPIREAT", k, at, "NX")
	conn.Send("PEXPIREAT", k, at, "GT")
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return err
}

// updateScript replaces one entry only while it still names the expected
// store key; 0 when the entry is gone or was moved to another key.
var updateScript = redis.NewScript(1, `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local ok, e = pcall(cjson.decode, cur)
if not ok or type(e) ~= 'table' or e.k ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
redis.call('PEXPIREAT', KEYS[1], ARGV[4], 'GT')
return 1
`)

func (g *Registry) Update(ctx context.Context, userID int64, e session.Entry, wantKey string, keepUntil time.Time) (bool, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return false, err
	}
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	n, err := redis.Int(updateScript.DoContext(ctx, conn, g.key(userID), e.ID, wantKey, b, keepUntil.UnixMilli()))
	return n == 1, err
}

// listScript returns the live entries of one user's hash and deletes the
// others, in one round trip: an entry lives while its session key exists.
// It reads session keys it is not given in KEYS, which a standalone Redis
// allows (Redis Cluster would need them in one slot).
var listScript = redis.NewScript(1, `
local live, dead = {}, {}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local ok, e = pcall(cjson.decode, all[i+1])
  if ok and type(e) == 'table' and e.id == all[i] and type(e.k) == 'string'
     and redis.call('EXISTS', ARGV[1] .. e.k) == 1 then
    live[#live+1] = all[i+1]
  else
    dead[#dead+1] = all[i]
  end
end
if #dead > 0 then redis.call('HDEL', KEYS[1], unpack(dead)) end
return live
`)

func (g *Registry) List(ctx context.Context, userID int64) ([]session.Entry, error) {
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	raw, err := redis.ByteSlices(listScript.DoContext(ctx, conn, g.key(userID), g.sessionPrefix))
	if err != nil {
		return nil, err
	}
	entries := make([]session.Entry, 0, len(raw))
	for _, b := range raw {
		var e session.Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("registry entry: %w", err)
		}
		entries = append(entries, e)
	}
	sort.Slice(entries, func(i, j int) bool { return session.EntryLess(entries[i], entries[j]) })
	return entries, nil
}

func (g *Registry) Remove(ctx context.Context, userID int64, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{g.key(userID)}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err := do(ctx, g.pool, "HDEL", args...)
	return err
}
