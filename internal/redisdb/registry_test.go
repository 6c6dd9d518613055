package redisdb

import (
	"context"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// registryRig is a session store on the shared test Redis, under a prefix
// of its own, with its Registry.
func registryRig(t *testing.T) (*session.Store, *Registry, string) {
	t.Helper()
	u := testenv.RedisURL(t)
	prefix := testenv.RedisPrefix(t, u)
	st := NewSessionStore(NewPool(u), prefix)
	t.Cleanup(func() { st.Close() })
	return st, st.Registry.(*Registry), prefix
}

// signIn writes a session under a new store key and registers it.
func signIn(t *testing.T, st *session.Store, userID int64) session.Entry {
	t.Helper()
	e := costEntry(time.Now())
	until := time.Now().Add(time.Hour)
	if err := st.Commit(e.StoreKey, costSessionData, until); err != nil {
		t.Fatal(err)
	}
	if err := st.Registry.Put(context.Background(), userID, e, until); err != nil {
		t.Fatal(err)
	}
	return e
}

// renew does to e what a re-authentication does: the session saved under
// a new key, the entry moved to it, then the old key deleted.
func renew(t *testing.T, st *session.Store, prefix string, userID int64, e session.Entry) session.Entry {
	t.Helper()
	ctx := context.Background()
	moved := e
	moved.StoreKey = session.StoreKey(costRandom(32))
	until := time.Now().Add(time.Hour)
	if err := st.Commit(moved.StoreKey, costSessionData, until); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Registry.Update(ctx, userID, moved, e.StoreKey, until); err != nil || !ok {
		t.Fatalf("Update = %v, %v", ok, err)
	}
	reg := st.Registry.(*Registry)
	if _, err := do(ctx, reg.pool, "DEL", prefix+"session:"+e.StoreKey); err != nil {
		t.Fatal(err)
	}
	return moved
}

// List reads the hash, then checks the entries' session keys in a
// script: a renewal landing in between moves the entry to a key the read
// did not see, and deletes the old one. The entry must be kept and listed
// with its new key, not pruned as the session of a deleted key.
func TestRegistryList_EntryMovedBetweenReadAndCheckIsKept(t *testing.T) {
	st, reg, prefix := registryRig(t)
	const userID = 7
	e := signIn(t, st, userID)
	var moved session.Entry
	reg.beforeCheck = func() {
		reg.beforeCheck = nil
		moved = renew(t, st, prefix, userID, e)
	}
	got, err := reg.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].StoreKey != moved.StoreKey {
		t.Fatalf("List = %+v, want the entry under its new key", got)
	}
	if n := hlen(t, reg, userID); n != 1 {
		t.Errorf("%d entries stored, want 1", n)
	}
}

// An entry that moves before every check is listed after listRounds
// checks, unchecked: never dropped while it may be live.
func TestRegistryList_EntryThatKeepsMovingIsListedNotDropped(t *testing.T) {
	st, reg, prefix := registryRig(t)
	const userID = 8
	e := signIn(t, st, userID)
	rounds := 0
	reg.beforeCheck = func() {
		rounds++
		e = renew(t, st, prefix, userID, e)
	}
	got, err := reg.List(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	if rounds != listRounds {
		t.Errorf("%d checks, want %d", rounds, listRounds)
	}
	if len(got) != 1 || got[0].ID != e.ID {
		t.Fatalf("List = %+v, want the moving entry", got)
	}
}

// Entries whose session is gone, malformed entries, and entries removed
// while List runs are not listed; the first two are pruned.
func TestRegistryList_PrunesEndedAndMalformedEntries(t *testing.T) {
	st, reg, prefix := registryRig(t)
	ctx := context.Background()
	const userID = 9
	live := signIn(t, st, userID)
	ended := signIn(t, st, userID)
	removed := signIn(t, st, userID)
	if _, err := do(ctx, reg.pool, "DEL", prefix+"session:"+ended.StoreKey); err != nil {
		t.Fatal(err)
	}
	k := reg.key(userID)
	for field, value := range map[string]string{
		"junk":     "not json",
		"other-id": `{"id":"someone-else","k":"x"}`,
		"no-key":   `{"id":"no-key"}`,
	} {
		if _, err := do(ctx, reg.pool, "HSET", k, field, value); err != nil {
			t.Fatal(err)
		}
	}
	reg.beforeCheck = func() {
		reg.beforeCheck = nil
		if err := reg.Remove(ctx, userID, removed.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := reg.List(ctx, userID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != live.ID {
		t.Fatalf("List = %+v, want only the live entry", got)
	}
	if n := hlen(t, reg, userID); n != 1 {
		t.Errorf("%d entries stored after List, want 1", n)
	}
}

func hlen(t *testing.T, reg *Registry, userID int64) int {
	t.Helper()
	n, err := redis.Int(do(context.Background(), reg.pool, "HLEN", reg.key(userID)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}
