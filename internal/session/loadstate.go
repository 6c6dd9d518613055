package session

import (
	"bytes"
	"context"
	"time"
)

// loadState records, per request, which store key the session was loaded
// from. The stores use it to tell "save the session this request loaded"
// (which must never recreate an entry deleted meanwhile) from "save a new
// session" (a fresh token after login or renewal).
type loadState struct {
	key    string    // store key found at load; "" when the session is new
	data   []byte    // the data found at load
	expiry time.Time // the entry's expiry at load (zero if unknown)
	// refreshEvery: an unchanged session is saved again only when its
	// expiry would move by at least this much (set by the Manager).
	refreshEvery time.Duration
}

type loadStateKey struct{}

func withLoadState(ctx context.Context, refreshEvery time.Duration) context.Context {
	return context.WithValue(ctx, loadStateKey{}, &loadState{refreshEvery: refreshEvery})
}

func loadStateFrom(ctx context.Context) *loadState {
	st, _ := ctx.Value(loadStateKey{}).(*loadState)
	return st
}

// markLoaded notes what was found in the store for this request.
func markLoaded(ctx context.Context, key string, data []byte, expiry time.Time) {
	if st := loadStateFrom(ctx); st != nil {
		st.key, st.data, st.expiry = key, data, expiry
	}
}

// unchanged reports whether saving key with data and expiry would only
// move the idle expiry by less than refreshEvery: then the save is skipped,
// which leaves one store round trip for most requests. The idle timeout is
// then enforced to within refreshEvery (a tenth of it at most).
func unchanged(ctx context.Context, key string, data []byte, expiry time.Time) bool {
	st := loadStateFrom(ctx)
	return st != nil && st.key == key && key != "" && !st.expiry.IsZero() &&
		bytes.Equal(st.data, data) && expiry.Sub(st.expiry) < st.refreshEvery
}

// wasLoaded reports whether key is the entry this request loaded, i.e.
// whether a save must only update an entry that still exists.
//
// SECURITY(revocation): a request in flight when its session is revoked or
// logged out would otherwise write the session back (scs re-commits every
// request when an idle timeout is set) and resurrect it. Saves of a loaded
// session are conditional — "update if it still exists" — so revocation
// sticks without a registry lookup on every request — ASVS 5.0 7.4.1,
// https://cheatsheetseries.owasp.org/cheatsheets/Session_Management_Cheat_Sheet.html#session-expiration
func wasLoaded(ctx context.Context, key string) bool {
	st := loadStateFrom(ctx)
	return st != nil && st.key != "" && st.key == key
}
