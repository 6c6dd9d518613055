package session

import "context"

// loadState records, per request, which store key the session was loaded
// from. The stores use it to tell "save the session this request loaded"
// (which must never recreate an entry deleted meanwhile) from "save a new
// session" (a fresh token after login or renewal).
type loadState struct {
	key string // store key found at load; "" when the session is new
}

type loadStateKey struct{}

func withLoadState(ctx context.Context) context.Context {
	return context.WithValue(ctx, loadStateKey{}, &loadState{})
}

func loadStateFrom(ctx context.Context) *loadState {
	st, _ := ctx.Value(loadStateKey{}).(*loadState)
	return st
}

// markLoaded notes that key was found in the store for this request.
func markLoaded(ctx context.Context, key string) {
	if st := loadStateFrom(ctx); st != nil {
		st.key = key
	}
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
