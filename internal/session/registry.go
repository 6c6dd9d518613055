package session

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/database"
)

// Entry is one signed-in session as its owner sees it on /sessions.
type Entry struct {
	// ID is a random display id, unrelated to the token: it can appear in
	// pages and URLs (/sessions/{id}/revoke).
	ID string `json:"id"`
	// StoreKey is the session's key in the store (SHA-256 of the token);
	// used to end the session, never shown.
	StoreKey string    `json:"k"`
	Created  time.Time `json:"c"`
	LastSeen time.Time `json:"s"`
	IP       string    `json:"ip"`
	Device   string    `json:"d"`
}

// Registry lists the signed-in sessions of each user. It lives beside the
// session store (Redis or SQL) and treats the store as the truth: an entry
// whose session is no longer in the store is pruned when read.
type Registry interface {
	// Put adds or replaces an entry. keepUntil is the latest moment the
	// session could still be alive; the registry need not outlive it.
	Put(ctx context.Context, userID int64, e Entry, keepUntil time.Time) error
	// List returns the user's live entries, oldest first, pruning the rest.
	List(ctx context.Context, userID int64) ([]Entry, error)
	// Remove deletes entries by display id.
	Remove(ctx context.Context, userID int64, ids ...string) error
}

// redisRegistry keeps one hash per user, field = display id, value = the
// entry as JSON, under its own prefix outside the session prefix. The hash
// expires with the longest-lived session in it, so entries of abandoned
// sessions never accumulate. No KEYS, SCAN or Iterate anywhere.
type redisRegistry struct {
	pool          *redis.Pool
	prefix        string // e.g. "sessionlab:registry:"
	sessionPrefix string // to check an entry's session still exists
}

func (g *redisRegistry) key(userID int64) string {
	return g.prefix + strconv.FormatInt(userID, 10)
}

func (g *redisRegistry) Put(ctx context.Context, userID int64, e Entry, keepUntil time.Time) error {
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

func (g *redisRegistry) List(ctx context.Context, userID int64) ([]Entry, error) {
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	raw, err := redis.ByteSlices(listScript.DoContext(ctx, conn, g.key(userID), g.sessionPrefix))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(raw))
	for _, b := range raw {
		var e Entry
		if err := json.Unmarshal(b, &e); err != nil {
			return nil, fmt.Errorf("registry entry: %w", err)
		}
		entries = append(entries, e)
	}
	sortEntries(entries)
	return entries, nil
}

func (g *redisRegistry) Remove(ctx context.Context, userID int64, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	args := []any{g.key(userID)}
	for _, id := range ids {
		args = append(args, id)
	}
	_, err = redis.DoContext(conn, ctx, "HDEL", args...)
	return err
}

// sqlRegistry keeps the registry in the user_sessions table, next to the
// sessions table it checks against.
type sqlRegistry struct {
	db    *database.DB
	store *sqlStore
}

func (g *sqlRegistry) Put(ctx context.Context, userID int64, e Entry, _ time.Time) error {
	_, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(
		`INSERT INTO user_sessions (id, user_id, store_key, created_at, last_seen, ip, device)
		 VALUES (?, ?, ?, ?, ?, ?, ?)
		 ON CONFLICT (id) DO UPDATE SET store_key = excluded.store_key, last_seen = excluded.last_seen, ip = excluded.ip`),
		e.ID, userID, e.StoreKey, e.Created.UnixNano(), e.LastSeen.UnixNano(), e.IP, e.Device)
	return err
}

func (g *sqlRegistry) List(ctx context.Context, userID int64) ([]Entry, error) {
	// Prune first: rows whose session expired or was deleted.
	if _, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(
		`DELETE FROM user_sessions WHERE user_id = ? AND NOT EXISTS
		 (SELECT 1 FROM sessions s WHERE s.token = user_sessions.store_key AND `+g.store.live+`)`), userID); err != nil {
		return nil, err
	}
	rows, err := g.db.SQL.QueryContext(ctx, g.db.Rebind(
		`SELECT id, store_key, created_at, last_seen, ip, device FROM user_sessions WHERE user_id = ?`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var entries []Entry
	for rows.Next() {
		var e Entry
		var created, seen int64
		if err := rows.Scan(&e.ID, &e.StoreKey, &created, &seen, &e.IP, &e.Device); err != nil {
			return nil, err
		}
		e.Created, e.LastSeen = time.Unix(0, created), time.Unix(0, seen)
		entries = append(entries, e)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sortEntries(entries)
	return entries, nil
}

func (g *sqlRegistry) Remove(ctx context.Context, userID int64, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	args := []any{userID}
	for _, id := range ids {
		args = append(args, id)
	}
	q := fmt.Sprintf("DELETE FROM user_sessions WHERE user_id = ? AND id IN (?%s)", strings.Repeat(", ?", len(ids)-1))
	_, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(q), args...)
	return err
}

func sortEntries(es []Entry) {
	sort.Slice(es, func(i, j int) bool {
		if !es[i].Created.Equal(es[j].Created) {
			return es[i].Created.Before(es[j].Created)
		}
		return es[i].ID < es[j].ID
	})
}
