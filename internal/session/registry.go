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

func (g *redisRegistry) List(ctx context.Context, userID int64) ([]Entry, error) {
	conn, err := g.pool.GetContext(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	k := g.key(userID)
	raw, err := redis.StringMap(redis.DoContext(conn, ctx, "HGETALL", k))
	if err != nil {
		return nil, err
	}
	entries := make([]Entry, 0, len(raw))
	var broken []any
	for id, v := range raw {
		var e Entry
		if json.Unmarshal([]byte(v), &e) != nil || e.ID != id {
			broken = append(broken, id)
			continue
		}
		entries = append(entries, e)
	}
	// One round trip: does each entry's session still exist?
	for _, e := range entries {
		conn.Send("EXISTS", g.sessionPrefix+e.StoreKey)
	}
	if err := conn.Flush(); err != nil {
		return nil, err
	}
	live := entries[:0]
	dead := broken
	for _, e := range entries {
		n, err := redis.Int(conn.Receive())
		if err != nil {
			return nil, err
		}
		if n == 1 {
			live = append(live, e)
		} else {
			dead = append(dead, e.ID)
		}
	}
	if len(dead) > 0 {
		if _, err := redis.DoContext(conn, ctx, "HDEL", append([]any{k}, dead...)...); err != nil {
			return nil, err
		}
	}
	sortEntries(live)
	return live, nil
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
