package session

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"
)

// defaultTombstoneTTL is how long a tombstone lives until NewManager sets
// it to the session lifetime: no request of an ended session can still be
// in flight after the session's own deadline.
const defaultTombstoneTTL = 24 * time.Hour

// guard is the revocation guard: a decorator around a stock scs store
// (scs.Store) that makes an ended session stay ended.
//
// The problem it solves: with an idle timeout, scs saves the session at the
// end of every request. A request that loaded a session before it was
// revoked, logged out or renewed elsewhere would write it back, and the
// "ended" session would work again. The stock stores cannot refuse that
// write (their Commit is an unconditional SET or REPLACE), so the guard
// follows the write with a check:
//
//  1. ending a session writes a tombstone for its store key (and for its
//     registry id), then deletes the entry;
//  2. a save of a key that this request loaded or saved before, or of a
//     session whose registry id is known, is followed by a tombstone check,
//     and the entry is deleted again when it is tombstoned.
//
// The store (Redis, or the database) orders the commands: a save that
// lands after step 1's delete is followed by a check that comes after the
// tombstone, so it sees it and undoes the save.
//
// It also saves nothing when the encoded session is byte for byte what
// this request loaded: with the idle expiry refreshed at most once per
// interval inside the session data (see Manager.Touch), most signed-in
// requests cost one store read and no write.
type guard struct {
	inner *bounded // the stock store, bounded by the request's deadline
	marks Tombstones
	ttl   time.Duration
	// committed, when set, is called after each real write (tests).
	committed func(ctx context.Context, key string)
}

var _ scs.CtxStore = (*guard)(nil)

// errEnded reports that a session was ended while this request held it.
var errEnded = errors.New("session ended meanwhile")

func keyMark(key string) string { return "k:" + key }
func sidMark(sid string) string { return "s:" + sid }

// reqState is what the guard remembers about one request.
type reqState struct {
	mu    sync.Mutex
	known []knownKey // store keys this request loaded or wrote
	sid   string     // registry id of the session, once the Manager knows it
	ended bool       // a save found a tombstone and undid itself
	// While deferring, DeleteCtx writes the tombstone at once but keeps
	// the entry until flushDeletes: a renewal deletes its old key only once
	// the registry names the new one, or a registry read in between would
	// prune the entry as dead.
	deferring bool
	deferred  []string
	// session is the context scs loaded the session into, for reading the
	// session once the handler has returned (the remembered cookie).
	session context.Context
}

type knownKey struct {
	key  string
	data []byte // the bytes last loaded from or written to the store
}

type reqStateKey struct{}

func withReqState(ctx context.Context) context.Context {
	return context.WithValue(ctx, reqStateKey{}, &reqState{})
}

func reqStateFrom(ctx context.Context) *reqState {
	st, _ := ctx.Value(reqStateKey{}).(*reqState)
	return st
}

// lookup returns the bytes last seen for key, and whether key is known.
func (st *reqState) lookup(key string) ([]byte, bool) {
	for _, k := range st.known {
		if k.key == key {
			return k.data, true
		}
	}
	return nil, false
}

func (st *reqState) remember(key string, data []byte) {
	for i := range st.known {
		if st.known[i].key == key {
			st.known[i].data = data
			return
		}
	}
	st.known = append(st.known, knownKey{key, data})
}

// watch tells the guard the registry id of this request's session, so a
// renewal's save also checks the session's own tombstone.
func watch(ctx context.Context, sid string) {
	if st := reqStateFrom(ctx); st != nil {
		st.mu.Lock()
		st.sid = sid
		st.mu.Unlock()
	}
}

// endedMeanwhile reports whether a save in this request found its
// session ended and undid itself.
func endedMeanwhile(ctx context.Context) bool {
	st := reqStateFrom(ctx)
	if st == nil {
		return false
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ended
}

func (g *guard) FindCtx(ctx context.Context, key string) ([]byte, bool, error) {
	b, found, err := g.inner.FindCtx(ctx, key)
	if err != nil || !found {
		return nil, false, err
	}
	if st := reqStateFrom(ctx); st != nil {
		st.mu.Lock()
		st.remember(key, b)
		st.mu.Unlock()
	}
	return b, true, nil
}

// CommitCtx saves the session unless it is unchanged, then checks that it
// was not ended meanwhile.
//
// SECURITY(revocation): a request in flight when its session is ended
// would otherwise write it back; the save is followed by a tombstone check
// that undoes it — ASVS 5.0 7.4.1, 7.5.2.
func (g *guard) CommitCtx(ctx context.Context, key string, b []byte, expiry time.Time) error {
	st := reqStateFrom(ctx)
	var names []string
	if st != nil {
		st.mu.Lock()
		prev, known := st.lookup(key)
		if known && bytes.Equal(prev, b) {
			st.mu.Unlock()
			return nil // unchanged: nothing to write, nothing to undo
		}
		if known {
			names = append(names, keyMark(key))
		}
		if st.sid != "" {
			names = append(names, sidMark(st.sid))
		}
		st.mu.Unlock()
	} else {
		names = []string{keyMark(key)} // outside a request: always check
	}
	if err := g.inner.CommitCtx(ctx, key, b, expiry); err != nil {
		return err
	}
	if g.committed != nil {
		g.committed(ctx, key)
	}
	if len(names) > 0 {
		ended, err := g.marks.AnyMarked(ctx, names...)
		if err != nil {
			return err
		}
		if ended {
			if st != nil {
				st.mu.Lock()
				st.ended = true
				st.mu.Unlock()
			}
			// The save came after the end: undo it. The response still
			// goes out, but its cookie names no session.
			return g.DeleteCtx(ctx, key)
		}
	}
	if st != nil {
		st.mu.Lock()
		st.remember(key, b)
		st.mu.Unlock()
	}
	return nil
}

// DeleteCtx ends a session entry: tombstone first, then delete. scs calls
// it for Destroy and for the old token in RenewToken.
func (g *guard) DeleteCtx(ctx context.Context, key string) error {
	if err := g.marks.Mark(ctx, g.ttl, keyMark(key)); err != nil {
		return err
	}
	if st := reqStateFrom(ctx); st != nil {
		st.mu.Lock()
		if st.deferring {
			st.deferred = append(st.deferred, key)
			st.mu.Unlock()
			return nil
		}
		st.mu.Unlock()
	}
	return g.inner.DeleteCtx(ctx, key)
}

// deferDeletes makes this request's deletes wait for flushDeletes (their
// tombstones are written at once).
func deferDeletes(ctx context.Context) {
	if st := reqStateFrom(ctx); st != nil {
		st.mu.Lock()
		st.deferring = true
		st.mu.Unlock()
	}
}

// flushDeletes deletes what was deferred and stops deferring.
func (g *guard) flushDeletes(ctx context.Context) error {
	st := reqStateFrom(ctx)
	if st == nil {
		return nil
	}
	st.mu.Lock()
	keys := st.deferred
	st.deferred, st.deferring = nil, false
	st.mu.Unlock()
	var first error
	for _, k := range keys {
		if err := g.inner.DeleteCtx(ctx, k); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// end ends sessions known by their registry entries: tombstones for the
// ids and keys first, then the entries deleted. A renewal racing this one
// either registered its new key before the tombstones (then the caller's
// re-read of the registry finds and ends it) or checks after them (then
// it ends itself).
func (g *guard) end(ctx context.Context, entries []Entry) error {
	names := make([]string, 0, 2*len(entries))
	for _, e := range entries {
		names = append(names, sidMark(e.ID), keyMark(e.StoreKey))
	}
	if err := g.marks.Mark(ctx, g.ttl, names...); err != nil {
		return err
	}
	for _, e := range entries {
		if err := g.inner.DeleteCtx(ctx, e.StoreKey); err != nil {
			return err
		}
	}
	return nil
}

// The context-free scs.Store methods, for callers outside a request.
func (g *guard) Find(key string) ([]byte, bool, error) {
	return g.FindCtx(context.Background(), key)
}
func (g *guard) Commit(key string, b []byte, expiry time.Time) error {
	return g.CommitCtx(context.Background(), key, b, expiry)
}
func (g *guard) Delete(key string) error { return g.DeleteCtx(context.Background(), key) }
