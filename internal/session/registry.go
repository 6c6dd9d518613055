package session

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

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
	// Put adds an entry for a new session (login). keepUntil is the latest
	// moment the session could still be alive; the registry need not
	// outlive it.
	Put(ctx context.Context, userID int64, e Entry, keepUntil time.Time) error
	// Update replaces the entry e.ID — its store key, last seen and IP —
	// only while its store key is still wantKey: a renewal passes the key
	// it renewed from, a touch the key it loaded. It reports false, and
	// changes nothing, when the entry is gone (the session was ended) or
	// points at another key (renewed by another request), so an ended
	// session's entry is never brought back.
	Update(ctx context.Context, userID int64, e Entry, wantKey string, keepUntil time.Time) (bool, error)
	// List returns the user's live entries, oldest first, pruning the rest.
	List(ctx context.Context, userID int64) ([]Entry, error)
	// Remove deletes entries by display id.
	Remove(ctx context.Context, userID int64, ids ...string) error
}

// sqlRegistry keeps the registry in the user_sessions table, next to the
// sessions table it checks against.
type sqlRegistry struct {
	db   *database.DB
	live string // SQL condition for "this sessions row has not expired"
}

// cleanup deletes the rows left without a live session.
func (g *sqlRegistry) cleanup(ctx context.Context) error {
	_, err := g.db.SQL.ExecContext(ctx, `DELETE FROM user_sessions WHERE NOT EXISTS
		(SELECT 1 FROM sessions s WHERE s.token = user_sessions.store_key AND `+g.live+`)`)
	return err
}

func (g *sqlRegistry) Put(ctx context.Context, userID int64, e Entry, _ time.Time) error {
	_, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(
		`INSERT INTO user_sessions (id, user_id, store_key, created_at, last_seen, ip, device)
		 VALUES (?, ?, ?, ?, ?, ?, ?)`),
		e.ID, userID, e.StoreKey, e.Created.UnixNano(), e.LastSeen.UnixNano(), e.IP, e.Device)
	return err
}

func (g *sqlRegistry) Update(ctx context.Context, userID int64, e Entry, wantKey string, _ time.Time) (bool, error) {
	res, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(
		`UPDATE user_sessions SET store_key = ?, last_seen = ?, ip = ?
		 WHERE id = ? AND user_id = ? AND store_key = ?`),
		e.StoreKey, e.LastSeen.UnixNano(), e.IP, e.ID, userID, wantKey)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (g *sqlRegistry) List(ctx context.Context, userID int64) ([]Entry, error) {
	// Prune first: rows whose session expired or was deleted.
	if _, err := g.db.SQL.ExecContext(ctx, g.db.Rebind(
		`DELETE FROM user_sessions WHERE user_id = ? AND NOT EXISTS
		 (SELECT 1 FROM sessions s WHERE s.token = user_sessions.store_key AND `+g.live+`)`), userID); err != nil {
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
	sort.Slice(es, func(i, j int) bool { return EntryLess(es[i], es[j]) })
}

// EntryLess orders entries oldest first, then by id.
func EntryLess(a, b Entry) bool {
	if !a.Created.Equal(b.Created) {
		return a.Created.Before(b.Created)
	}
	return a.ID < b.ID
}
