package session_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/database"
	"github.com/sessionlab/sessionlab/internal/redisdb"
	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
	"github.com/sessionlab/sessionlab/internal/users"
)

// These tests drive the session Manager over the stock stores behind the
// guard, per backend, and stop requests at the moments where another
// request can interleave (session.Hooks). Each ends by looking in the
// store as an attacker holding the cookie would: the ended session must be
// gone, and its cookie anonymous.

const cookieName = "__Host-session"

// rig is a minimal app: the Manager, a handful of routes, one user.
type rig struct {
	t      *testing.T
	m      *session.Manager
	store  *session.Store
	srv    *httptest.Server
	userID int64

	mu    sync.Mutex
	stops map[string]func(ctx context.Context) // step name → what to do there
	wrote map[string]int                       // store key → writes seen
	raw   rawCount
}

type stepKey struct{}

// step names the request in its context, from the X-Step header, so a hook
// acts on that request only.
func stepOf(ctx context.Context) string { s, _ := ctx.Value(stepKey{}).(string); return s }

type backend struct {
	name string
	open func(t *testing.T) (*database.DB, *session.Store, rawCount)
}

// rawCount counts a user's registry entries as stored, without the
// pruning List does.
type rawCount func(t *testing.T, userID int64) int

func backends() []backend {
	return []backend{
		{"sqlite", func(t *testing.T) (*database.DB, *session.Store, rawCount) { return sqlStore(t, testenv.SQLite(t)) }},
		{"redis", func(t *testing.T) (*database.DB, *session.Store, rawCount) {
			u := testenv.RedisURL(t)
			prefix := testenv.RedisPrefix(t, u)
			st := redisdb.NewSessionStore(redisdb.NewPool(u), prefix)
			t.Cleanup(func() { st.Close() })
			return testenv.SQLite(t), st, func(t *testing.T, userID int64) int {
				conn, err := redis.DialURL(u)
				if err != nil {
					t.Fatal(err)
				}
				defer conn.Close()
				n, err := redis.Int(conn.Do("HLEN", prefix+"registry:"+strconv.FormatInt(userID, 10)))
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
		}},
		{"postgres", func(t *testing.T) (*database.DB, *session.Store, rawCount) { return sqlStore(t, testenv.Postgres(t)) }},
	}
}

func sqlStore(t *testing.T, db *database.DB) (*database.DB, *session.Store, rawCount) {
	st, err := session.NewSQLStore(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return db, st, func(t *testing.T, userID int64) int {
		var n int
		if err := db.SQL.QueryRow(db.Rebind("SELECT count(*) FROM user_sessions WHERE user_id = ?"), userID).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
}

func eachBackend(t *testing.T, fn func(t *testing.T, r *rig)) {
	eachBackendIdle(t, time.Hour, fn)
}

func eachBackendIdle(t *testing.T, idle time.Duration, fn func(t *testing.T, r *rig)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			db, st, raw := b.open(t)
			r := newRigIdle(t, db, st, idle)
			r.raw = raw
			fn(t, r)
		})
	}
}

var clientIP = netip.MustParseAddr("192.0.2.1")

// newRigIdle: with a short idle timeout the refresh interval (a tenth of
// it) passes quickly, and a request's Touch really writes.
func newRigIdle(t *testing.T, db *database.DB, st *session.Store, idle time.Duration) *rig {
	email, _ := testenv.NewUser()
	u, err := users.NewRepository(db).Create(t.Context(), email, []byte("$2a$04$not-a-real-hash-for-this-test"))
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{t: t, store: st, userID: u.ID, stops: map[string]func(context.Context){}, wrote: map[string]int{}}
	at := func(name string) func(ctx context.Context) {
		return func(ctx context.Context) {
			r.mu.Lock()
			f := r.stops[stepOf(ctx)+"@"+name]
			r.mu.Unlock()
			if f != nil {
				f(ctx)
			}
		}
	}
	r.m = session.NewManager(session.Options{
		CookieName: cookieName, Secure: true, IdleTimeout: idle, Lifetime: 2 * time.Hour,
		Hooks: session.Hooks{
			Loaded:     func(req *http.Request) { at("loaded")(req.Context()) },
			Registered: at("registered"),
			Committed: func(ctx context.Context, key string) {
				r.mu.Lock()
				r.wrote[key]++
				r.mu.Unlock()
				at("committed")(ctx)
			},
		},
	}, st, func(w http.ResponseWriter, _ *http.Request, err error) {
		http.Error(w, "store error: "+err.Error(), http.StatusServiceUnavailable)
	})

	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, req *http.Request) {
		if err := r.m.Login(req, session.Identity{UserID: r.userID}, clientIP, valid); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		r.m.Flash(req.Context(), "welcome") // a change after login's first save: the end save writes
		io.WriteString(w, "signed in")
	})
	mux.HandleFunc("POST /reauth", func(w http.ResponseWriter, req *http.Request) {
		if err := r.m.Reauthenticated(req, clientIP, 0, valid); err != nil {
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		r.m.Flash(req.Context(), "renewed")
		io.WriteString(w, "renewed")
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, req *http.Request) {
		if err := r.m.Logout(req.Context()); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "logged out")
	})
	// GET /change changes the session data, so its save is a real write.
	mux.HandleFunc("GET /change", func(w http.ResponseWriter, req *http.Request) {
		r.m.Flash(req.Context(), "changed "+time.Now().String())
		io.WriteString(w, whoami(r.m, req))
	})
	// GET /touch refreshes the idle expiry and the registry's "last seen"
	// when the refresh interval has passed.
	mux.HandleFunc("GET /touch", func(w http.ResponseWriter, req *http.Request) {
		if err := r.m.Touch(req.Context(), clientIP); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, whoami(r.m, req))
	})
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, req *http.Request) {
		io.WriteString(w, whoami(r.m, req))
	})
	h := r.m.Middleware(mux)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		h.ServeHTTP(w, req.WithContext(context.WithValue(req.Context(), stepKey{}, req.Header.Get("X-Step"))))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// valid: the rig's credentials never change.
func valid(context.Context) (bool, error) { return true, nil }

func whoami(m *session.Manager, req *http.Request) string {
	if id := m.UserID(req.Context()); id != 0 {
		return "user"
	}
	return "anonymous"
}

// stopAt runs f when the request named step reaches point ("loaded",
// "registered" or "committed").
func (r *rig) stopAt(step, point string, f func(ctx context.Context)) {
	r.mu.Lock()
	r.stops[step+"@"+point] = f
	r.mu.Unlock()
}

// listedKeys is the set of store keys the registry lists for the user.
func (r *rig) listedKeys() map[string]bool {
	r.t.Helper()
	entries, err := r.m.List(context.Background(), r.userID)
	if err != nil {
		r.t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, e := range entries {
		listed[e.StoreKey] = true
	}
	return listed
}

func (r *rig) writes(key string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wrote[key]
}

// send makes one request with cookie (a token, or ""), returning the body
// and the session cookie the response set ("" if none).
func (r *rig) send(method, path, token, step string) (body, setToken string) {
	req, _ := http.NewRequest(method, r.srv.URL+path, nil)
	if token != "" {
		req.AddCookie(&http.Cookie{Name: cookieName, Value: token})
	}
	req.Header.Set("X-Step", step)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Errorf("%s %s: %v", method, path, err)
		return "", ""
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, c := range res.Cookies() {
		if c.Name == cookieName {
			setToken = c.Value
		}
	}
	return strings.TrimSpace(string(b)), setToken
}

func (r *rig) login() string {
	r.t.Helper()
	body, tok := r.send(http.MethodPost, "/login", "", "")
	if body != "signed in" || tok == "" {
		r.t.Fatalf("login: %q", body)
	}
	return tok
}

// mustBeGone: the store has no entry for token, and the cookie is anonymous.
func (r *rig) mustBeGone(token, why string) {
	r.t.Helper()
	if _, found, err := r.store.Find(session.StoreKey(token)); err != nil {
		r.t.Fatal(err)
	} else if found {
		r.t.Errorf("%s: the ended session is back in the store", why)
	}
	if got, _ := r.send(http.MethodGet, "/whoami", token, ""); got != "anonymous" {
		r.t.Errorf("%s: the ended session's cookie is %q, want anonymous", why, got)
	}
}

func (r *rig) revokeAll() int {
	r.t.Helper()
	n, err := r.m.RevokeOthers(context.Background(), r.userID, "")
	if err != nil {
		r.t.Fatal(err)
	}
	return n
}

// inFlight starts a request and returns a wait function for its body.
func (r *rig) inFlight(method, path, token, step string) func() (string, string) {
	type result struct{ body, tok string }
	done := make(chan result, 1)
	go func() {
		b, tok := r.send(method, path, token, step)
		done <- result{b, tok}
	}()
	return func() (string, string) { res := <-done; return res.body, res.tok }
}

// raceASlowRequest sends GET path with token, holds it once its session
// is loaded, runs during, then lets it finish and checks that it ran
// signed in and really wrote its session back (so the race was exercised).
func (r *rig) raceASlowRequest(path, token string, during func()) {
	r.t.Helper()
	key := session.StoreKey(token)
	loaded, release := make(chan struct{}), make(chan struct{})
	r.stopAt("slow", "loaded", func(context.Context) { close(loaded); <-release })
	wait := r.inFlight(http.MethodGet, path, token, "slow")
	<-loaded
	during()
	before := r.writes(key)
	close(release)
	if body, _ := wait(); body != "user" {
		r.t.Fatalf("the slow request ran as %q, want user (loaded before the session ended)", body)
	}
	if r.writes(key) <= before {
		r.t.Fatal("the slow request did not write its session back: the race was not exercised")
	}
}

func TestGuard_RevokedBetweenLoadAndSaveStaysRevoked(t *testing.T) {
	eachBackend(t, func(t *testing.T, r *rig) {
		tok := r.login()
		r.raceASlowRequest("/change", tok, func() {
			if n := r.revokeAll(); n != 1 {
				t.Fatalf("revoked %d sessions, want 1", n)
			}
		})
		r.mustBeGone(tok, "revoked between load and save")
	})
}

func TestGuard_RevokedBetweenLoginsTwoSavesStaysRevoked(t *testing.T) {
	eachBackend(t, func(t *testing.T, r *rig) {
		var key string
		r.stopAt("login", "registered", func(ctx context.Context) {
			entries, err := r.m.List(ctx, r.userID)
			if err != nil || len(entries) != 1 {
				t.Errorf("registry at login: %v, %v", entries, err)
				return
			}
			key = entries[0].StoreKey
			r.revokeAll()
		})
		body, tok := r.send(http.MethodPost, "/login", "", "login")
		if body != "signed in" {
			t.Fatalf("login: %q", body)
		}
		if session.StoreKey(tok) != key {
			t.Fatal("the revoked session is not the one login returned")
		}
		if r.writes(key) < 2 {
			t.Fatalf("login wrote its session %d times, want 2 (the end save after the revocation)", r.writes(key))
		}
		r.mustBeGone(tok, "revoked between login's two saves")
	})
}

func TestGuard_LogoutRacingASlowRequestOfTheSameSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, r *rig) {
		tok := r.login()
		r.raceASlowRequest("/change", tok, func() {
			if body, _ := r.send(http.MethodPost, "/logout", tok, ""); body != "logged out" {
				t.Fatalf("logout: %q", body)
			}
		})
		r.mustBeGone(tok, "logout racing a slow request")
	})
}

func TestGuard_FiftyConcurrentRequestsWhileTheSessionIsRevoked(t *testing.T) {
	const n = 50
	eachBackend(t, func(t *testing.T, r *rig) {
		tok := r.login()
		key := session.StoreKey(tok)
		var loaded atomic.Int32
		allLoaded, release := make(chan struct{}), make(chan struct{})
		r.stopAt("many", "loaded", func(context.Context) {
			if loaded.Add(1) == n {
				close(allLoaded)
			}
			<-release
		})
		waits := make([]func() (string, string), n)
		for i := range waits {
			waits[i] = r.inFlight(http.MethodGet, "/change", tok, "many")
		}
		<-allLoaded
		r.revokeAll()
		before := r.writes(key)
		close(release)
		for _, wait := range waits {
			if body, _ := wait(); body != "user" {
				t.Fatalf("a concurrent request ran as %q, want user", body)
			}
		}
		if r.writes(key)-before != n {
			t.Fatalf("%d of %d requests wrote the session back, want all: the race was not exercised", r.writes(key)-before, n)
		}
		r.mustBeGone(tok, "50 requests in flight during the revocation")
	})
}

// A re-authentication renews the token. Revoked at each point of the
// renewal, the session must not come back under the new token.
func TestGuard_RenewalRacingARevocationProducesNoLiveToken(t *testing.T) {
	for _, point := range []string{"committed", "registered"} {
		t.Run(point, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, r *rig) {
				tok := r.login()
				var revoked atomic.Bool
				r.stopAt("reauth", point, func(ctx context.Context) {
					if revoked.CompareAndSwap(false, true) {
						r.revokeAll()
					}
				})
				_, newTok := r.send(http.MethodPost, "/reauth", tok, "reauth")
				if !revoked.Load() {
					t.Fatal("the revocation did not run inside the renewal")
				}
				r.mustBeGone(tok, "old token after renewal")
				if newTok != "" {
					r.mustBeGone(newTok, "renewed token revoked at "+point)
				}
				if entries, err := r.m.List(context.Background(), r.userID); err != nil || len(entries) != 0 {
					t.Errorf("registry after the revocation: %v, %v; want empty", entries, err)
				}
			})
		})
	}
}

// Two renewals of one session at once: one wins, and the loser's token
// is not left alive and unlisted.
func TestGuard_TwoConcurrentRenewalsLeaveNoUnlistedSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, r *rig) {
		tok := r.login()
		loaded := make(chan struct{}, 2)
		release := make(chan struct{})
		r.stopAt("reauth", "loaded", func(context.Context) { loaded <- struct{}{}; <-release })
		w1 := r.inFlight(http.MethodPost, "/reauth", tok, "reauth")
		w2 := r.inFlight(http.MethodPost, "/reauth", tok, "reauth")
		<-loaded
		<-loaded
		close(release)
		_, t1 := w1()
		_, t2 := w2()
		listed := r.listedKeys()
		for _, tk := range []string{tok, t1, t2} {
			if tk == "" {
				continue
			}
			body, _ := r.send(http.MethodGet, "/whoami", tk, "")
			if body == "user" && !listed[session.StoreKey(tk)] {
				t.Errorf("a live session is not in the registry: its owner could not end it")
			}
		}
	})
}

// A request that loaded the session before it was revoked refreshes
// "last seen" after: the registry entry must not come back.
func TestGuard_LastSeenWriteDoesNotBringBackARevokedEntry(t *testing.T) {
	const idle = time.Second // refreshed every 100 ms
	eachBackendIdle(t, idle, func(t *testing.T, r *rig) {
		tok := r.login()
		time.Sleep(idle / 5) // past the refresh interval: the held request's Touch writes
		r.raceASlowRequest("/touch", tok, func() { r.revokeAll() })
		if n := r.raw(t, r.userID); n != 0 {
			t.Errorf("%d registry entries after the late refresh, want none", n)
		}
		r.mustBeGone(tok, "late last-seen refresh")
	})
}

// A registry read (which prunes entries whose session is gone) landing in
// the middle of a renewal must not drop the renewed session from the
// registry, or its owner could neither see nor end it.
func TestGuard_RegistryReadDuringARenewalKeepsTheEntry(t *testing.T) {
	eachBackend(t, func(t *testing.T, r *rig) {
		tok := r.login()
		var read atomic.Bool
		r.stopAt("reauth", "committed", func(ctx context.Context) {
			if read.CompareAndSwap(false, true) {
				if _, err := r.m.List(context.Background(), r.userID); err != nil {
					t.Error(err)
				}
			}
		})
		body, newTok := r.send(http.MethodPost, "/reauth", tok, "reauth")
		if !read.Load() {
			t.Fatal("the registry read did not run inside the renewal")
		}
		if body != "renewed" || newTok == "" {
			t.Fatalf("renewal: %q, want renewed with a new cookie", body)
		}
		entries, err := r.m.List(context.Background(), r.userID)
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].StoreKey != session.StoreKey(newTok) {
			t.Errorf("registry after the renewal: %v, want the renewed session", entries)
		}
		if got, _ := r.send(http.MethodGet, "/whoami", newTok, ""); got != "user" {
			t.Errorf("the renewed cookie is %q, want user", got)
		}
		r.mustBeGone(tok, "the token renewed from")
	})
}

// Issue "registry drift": after any mix of concurrent logins, renewals,
// revocations (one, or all) and logouts, every session that still works
// is listed, and every listed session works. Randomized with a fixed seed,
// in bounded batches of concurrent operations, on every store.
func TestGuard_RegistryMatchesTheLiveSessionsAfterConcurrentChurn(t *testing.T) {
	const batches, perBatch = 12, 6
	eachBackend(t, func(t *testing.T, r *rig) {
		rng := rand.New(rand.NewPCG(8, 1))
		var mu sync.Mutex
		tokens := []string{r.login(), r.login()}
		pick := func() string {
			mu.Lock()
			defer mu.Unlock()
			return tokens[rng.IntN(len(tokens))]
		}
		add := func(tok string) {
			if tok != "" {
				mu.Lock()
				tokens = append(tokens, tok)
				mu.Unlock()
			}
		}
		for range batches {
			ops := make([]func(), perBatch)
			for i := range ops {
				switch k := rng.IntN(5); k {
				case 0:
					ops[i] = func() { _, tok := r.send(http.MethodPost, "/login", "", ""); add(tok) }
				case 1, 2:
					tok := pick()
					ops[i] = func() { _, nt := r.send(http.MethodPost, "/reauth", tok, ""); add(nt) }
				case 3:
					tok := pick()
					ops[i] = func() { r.send(http.MethodPost, "/logout", tok, "") }
				default:
					ops[i] = func() {
						entries, err := r.m.List(context.Background(), r.userID)
						if err == nil && len(entries) > 0 {
							r.m.Revoke(context.Background(), r.userID, entries[0].ID)
						}
					}
				}
			}
			var wg sync.WaitGroup
			for _, op := range ops {
				wg.Go(op)
			}
			wg.Wait()
		}
		listed := r.listedKeys()
		live := map[string]bool{}
		for _, tok := range tokens {
			if got, _ := r.send(http.MethodGet, "/whoami", tok, ""); got == "user" {
				live[session.StoreKey(tok)] = true
				if !listed[session.StoreKey(tok)] {
					t.Errorf("a working session is not listed: its owner could not end it")
				}
			}
		}
		for key := range listed {
			if !live[key] {
				t.Errorf("a listed session does not work")
			}
		}
		t.Logf("%d tokens issued, %d live, %d listed", len(tokens), len(live), len(listed))
	})
}
