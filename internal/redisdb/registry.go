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
// Iterate anywhere: every operation touches one user's hash and the
// session keys its entries name, so its cost depends on that user's
// sessions only (TestRegistryCost_IndependentOfOtherUsersSessions), and
// every key a script touches is passed to it in KEYS
// (docs/REDIS-CLUSTER.md).
type Registry struct {
	pool          *redis.Pool
	prefix        string // e.g. "sessionlab:registry:"
	sessionPrefix string // the stock store's prefix, to check an entry's session exists
	// beforeCheck, when set, runs in List between reading the hash and each
	// run of the check script (tests: a renewal lands there).
	beforeCheck func()
}

var _ session.Registry = (*Registry)(nil)

func (g *Registry) key(userID int64) string {
	return g.prefix + strconv.FormatInt(userID, 10)
}

func (g *Registry) Put(ctx context.Context, userID int64, e session.Entry, keepUntil time.Time) error {
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := g.sendPut(conn, userID, e, keepUntil); err != nil {
		return err
	}
	_, err = redis.DoContext(conn, ctx, "EXEC")
	return err
}

// sendPut queues Put's transaction on conn, all but its EXEC: one key,
// the user's hash.
func (g *Registry) sendPut(conn redis.Conn, userID int64, e session.Entry, keepUntil time.Time) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	k, at := g.key(userID), keepUntil.UnixMilli()
	conn.Send("MULTI")
	conn.Send("HSET", k, e.ID, b)
	// Every key the app writes expires: NX gives a new hash its expiry, GT
	// only ever extends it to cover the longest-lived session.
	conn.Send("PEXPIREAT", k, at, "NX")
	return conn.Send("PEXPIREAT", k, at, "GT")
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

// listScript is List's check and prune, in one atomic step, touching
// only the keys it is given: KEYS[1] is the user's hash; for i = 1..n,
// KEYS[1+i] is the session key entry ARGV[i] named when the caller read
// the hash, and ARGV[n+i] that store key as the entry holds it; ARGV past
// 2n are ids the caller read as malformed.
//
// An entry still naming the same store key lives while that key exists,
// and is deleted otherwise; one that names another key now (a renewal
// moved it since the caller's read) is returned as moved, for the caller
// to check against its new key; a malformed one is deleted. It returns
// {live, moved}, each a list of entries as stored. Every key arrives in
// KEYS, none is built from ARGV or from a value read, as Redis asks of
// scripts (docs/REDIS-CLUSTER.md):
// https://redis.io/docs/latest/develop/interact/programmability/eval-intro/#script-parameterization
var listScript = redis.NewScript(-1, `
local n = #KEYS - 1
local function valid(id, raw)
  local ok, e = pcall(cjson.decode, raw)
  if ok and type(e) == 'table' and e.id == id and type(e.k) == 'string' and e.k ~= '' then
    return e
  end
  return nil
end
local function hmget(ids)
  local out = {}
  for s = 1, #ids, 1000 do
    local part = redis.call('HMGET', KEYS[1], unpack(ids, s, math.min(s + 999, #ids)))
    for j = 1, #part do out[#out+1] = part[j] end
  end
  return out
end
local ids, bad = {}, {}
for i = 1, n do ids[i] = ARGV[i] end
for i = 2*n + 1, #ARGV do bad[#bad+1] = ARGV[i] end
local live, moved, dead = {}, {}, {}
local cur = hmget(ids)
for i = 1, n do
  local raw = cur[i]
  if raw then
    local e = valid(ids[i], raw)
    if not e then
      dead[#dead+1] = ids[i]
    elseif e.k ~= ARGV[n+i] then
      moved[#moved+1] = raw
    elseif redis.call('EXISTS', KEYS[1+i]) == 1 then
      live[#live+1] = raw
    else
      dead[#dead+1] = ids[i]
    end
  end
end
cur = hmget(bad)
for i = 1, #bad do
  if cur[i] and not valid(bad[i], cur[i]) then dead[#dead+1] = bad[i] end
end
for s = 1, #dead, 1000 do
  redis.call('HDEL', KEYS[1], unpack(dead, s, math.min(s + 999, #dead)))
end
return {live, moved}
`)

// listRounds bounds how often List checks again the entries a concurrent
// renewal moved while it was reading.
const listRounds = 3

// List reads the user's hash (HGETALL), then runs listScript once with
// the session keys the entries name in KEYS, and again for the entries a
// renewal moved in between. Its cost depends on this user's entries only:
// no KEYS, SCAN or command over other users' keys.
//
// An entry is dropped only by the script, only while it still names the
// key found gone: a renewal that moves it to a new key between the read
// and the script is never mistaken for an ended session (the guard tests
// race exactly this). An entry still moving after listRounds checks is
// listed unchecked: listing a session that just ended is harmless
// (revoking it is a no-op, the next List prunes it).
//
// SECURITY(revocation): List never hides a live session, which would
// leave its owner unable to end it — ASVS 5.0 7.5.2.
func (g *Registry) List(ctx context.Context, userID int64) ([]session.Entry, error) {
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	k := g.key(userID)
	all, err := redis.StringMap(redis.DoContext(conn, ctx, "HGETALL", k))
	if err != nil {
		return nil, err
	}
	type named struct{ id, key string }
	var check []named
	var bad []string
	for id, raw := range all {
		var e struct {
			ID string `json:"id"`
			K  string `json:"k"`
		}
		if json.Unmarshal([]byte(raw), &e) != nil || e.ID != id || e.K == "" {
			bad = append(bad, id)
			continue
		}
		check = append(check, named{id, e.K})
	}
	var live [][]byte
	for round := 0; len(check)+len(bad) > 0; round++ {
		if round == listRounds {
			for _, c := range check {
				live = append(live, []byte(all[c.id]))
			}
			break
		}
		if g.beforeCheck != nil {
			g.beforeCheck()
		}
		args := make([]any, 0, 2+3*len(check)+len(bad))
		args = append(args, 1+len(check), k)
		for _, c := range check {
			args = append(args, g.sessionPrefix+c.key)
		}
		for _, c := range check {
			args = append(args, c.id)
		}
		for _, c := range check {
			args = append(args, c.key)
		}
		for _, id := range bad {
			args = append(args, id)
		}
		reply, err := redis.Values(listScript.DoContext(ctx, conn, args...))
		if err != nil {
			return nil, err
		}
		if len(reply) != 2 {
			return nil, fmt.Errorf("registry list: %d replies, want 2", len(reply))
		}
		ok, err := redis.ByteSlices(reply[0], nil)
		if err != nil {
			return nil, err
		}
		moved, err := redis.Strings(reply[1], nil)
		if err != nil {
			return nil, err
		}
		live = append(live, ok...)
		check, bad = check[:0], nil
		for _, raw := range moved {
			var e struct {
				ID string `json:"id"`
				K  string `json:"k"`
			}
			if err := json.Unmarshal([]byte(raw), &e); err != nil {
				return nil, fmt.Errorf("registry entry: %w", err)
			}
			all[e.ID] = raw
			check = append(check, named{e.ID, e.K})
		}
	}
	entries := make([]session.Entry, 0, len(live))
	for _, b := range live {
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
