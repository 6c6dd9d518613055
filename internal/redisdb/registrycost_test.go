package redisdb

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/session"
	"github.com/sessionlab/sessionlab/internal/testenv"
)

// Issue "registry cost": with 100,000 sessions of other users in Redis,
// listing one user's sessions, revoking one and revoking all others issue
// the same Redis commands as with none — a number that grows with that
// user's sessions only — and never KEYS or SCAN. Measured on a private
// redis-server (CONFIG RESETSTAT and INFO commandstats would be disturbed
// by the other packages' tests on the shared one), through the real
// session.Manager over NewSessionStore; MONITOR records every command,
// those the scripts run included, to show no argument list grows with the
// total and no other user's key is touched.
func TestRegistryCost_IndependentOfOtherUsersSessions(t *testing.T) {
	const others, perOther = 100_000, 4 // 25,000 other users
	ns := []int{1, 2, 5, 20}
	ops := []string{"list", "revoke one", "revoke others"}

	c := newCostRig(t)
	// Warm up: scripts loaded (the first EVALSHA would fail NOSCRIPT and
	// fall back to EVAL), pool connections dialled.
	for _, op := range ops {
		c.exercise(t, op, 2, false)
	}

	phase := func(name string) map[string]map[int]costRun {
		got := map[string]map[int]costRun{}
		for _, op := range ops {
			got[op] = map[int]costRun{}
			for _, n := range ns {
				r := c.exercise(t, op, n, true)
				got[op][n] = r
				t.Logf("%s, %s, n=%d: %d commands %v", name, op, n, r.total(), r.calls)
			}
		}
		return got
	}
	empty := phase("0 others")

	start := time.Now()
	c.bulk(t, others, perOther)
	size, err := redis.Int(c.admin.Do("DBSIZE"))
	if err != nil {
		t.Fatal(err)
	}
	if size < others+others/perOther {
		t.Fatalf("DBSIZE %d after the bulk load, want at least %d", size, others+others/perOther)
	}
	// The bulk entries are real sessions: the Manager lists them.
	if es, err := c.m.List(context.Background(), costOtherUser); err != nil || len(es) != perOther {
		t.Fatalf("List(other user) = %d entries, %v; want %d", len(es), err, perOther)
	}
	t.Logf("%d sessions of %d other users written in %v; DBSIZE %d", others, others/perOther, time.Since(start).Round(time.Millisecond), size)

	full := phase("100k others")

	for _, op := range ops {
		for _, n := range ns {
			a, b := empty[op][n], full[op][n]
			if a.total() != b.total() {
				t.Errorf("%s, n=%d: %d commands with no other sessions, %d with %d: the cost depends on the total", op, n, a.total(), b.total(), others)
			}
			if !slices.Equal(a.shape(), b.shape()) {
				t.Errorf("%s, n=%d: commands (name/arity) differ with %d other sessions:\n  none: %v\n  100k: %v", op, n, others, a.shape(), b.shape())
			}
			for _, r := range []costRun{a, b} {
				if r.traced != r.total() {
					t.Errorf("%s, n=%d: MONITOR saw %d commands, commandstats %d", op, n, r.traced, r.total())
				}
				for _, forbidden := range []string{"keys", "scan", "hscan", "sscan", "zscan"} {
					if r.calls[forbidden] != 0 {
						t.Errorf("%s, n=%d: %s called %d times", op, n, strings.ToUpper(forbidden), r.calls[forbidden])
					}
				}
				// The longest command: EVALSHA of the list script, with
				// 1+n keys and 2n arguments.
				if max := 4*n + 8; r.maxArity > max {
					t.Errorf("%s, n=%d: a command with %d arguments (over %d): %s", op, n, r.maxArity, max, r.longest)
				}
				for _, e := range r.foreign {
					t.Errorf("%s, n=%d: touched a key that is not this user's: %s", op, n, e)
				}
			}
		}
		// Linear in n: a + b·n, fitted on n=2 and n=5, checked at n=20
		// (revoking others with n=1 ends nobody and stops after the list).
		c2, c5, c20 := full[op][2].total(), full[op][5].total(), full[op][20].total()
		if (c5-c2)%3 != 0 || c20 != c5+15*(c5-c2)/3 {
			t.Errorf("%s: %d, %d, %d commands for n = 2, 5, 20: not linear in n", op, c2, c5, c20)
			continue
		}
		b := (c5 - c2) / 3
		t.Logf("%s: %d + %d·n commands (n=1: %d), with 0 or %d other sessions", op, c2-2*b, b, full[op][1].total(), others)
	}
}

const (
	costNamespace = "sessionlab:"
	costOtherUser = 1_000_000 // the first of the other users
)

type costRig struct {
	srv   *testenv.RedisServer
	st    *session.Store
	reg   *Registry
	m     *session.Manager
	admin redis.Conn
	next  int64 // next measured user id
}

func newCostRig(t *testing.T) *costRig {
	srv := testenv.StartRedisServer(t)
	st := NewSessionStore(NewPool(srv.URL()), costNamespace)
	t.Cleanup(func() { st.Close() })
	m := session.NewManager(session.Options{CookieName: "session", IdleTimeout: time.Hour, Lifetime: 24 * time.Hour}, st,
		func(w http.ResponseWriter, _ *http.Request, err error) { t.Errorf("store error: %v", err) })
	admin, err := redis.DialURL(srv.URL(), redis.DialReadTimeout(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return &costRig{srv: srv, st: st, reg: st.Registry.(*Registry), m: m, admin: admin, next: 1}
}

// user signs in a new user with n sessions, through the real store (the
// guard over redisstore) and Registry.Put, oldest first.
func (c *costRig) user(t *testing.T, n int) (int64, []session.Entry) {
	t.Helper()
	ctx := context.Background()
	uid := c.next
	c.next++
	now := time.Now()
	until := now.Add(time.Hour)
	entries := make([]session.Entry, n)
	for i := range entries {
		e := costEntry(now.Add(time.Duration(i-n) * time.Second))
		if err := c.st.Commit(e.StoreKey, costSessionData, until); err != nil {
			t.Fatal(err)
		}
		if err := c.st.Registry.Put(ctx, uid, e, until); err != nil {
			t.Fatal(err)
		}
		entries[i] = e
	}
	return uid, entries
}

// costRun is what one operation asked of Redis.
type costRun struct {
	calls    map[string]int // INFO commandstats, the measuring commands left out
	cmds     []string       // "name/arity" of each command MONITOR saw
	traced   int
	maxArity int
	longest  string
	foreign  []string // keys touched that are not the user's
}

func (r costRun) total() int {
	n := 0
	for _, v := range r.calls {
		n += v
	}
	return n
}

// shape is the sorted multiset of name/arity.
func (r costRun) shape() []string {
	s := slices.Clone(r.cmds)
	slices.Sort(s)
	return s
}

// exercise does op for a new user with n sessions through the Manager
// and checks the outcome; with measure, under record.
func (c *costRig) exercise(t *testing.T, op string, n int, measure bool) costRun {
	t.Helper()
	ctx := context.Background()
	uid, entries := c.user(t, n)
	// The keys op may touch: the user's hash, its sessions, their tombstones.
	mine := map[string]bool{c.reg.key(uid): true}
	for _, e := range entries {
		mine[costNamespace+"session:"+e.StoreKey] = true
		mine[costNamespace+"ended:k:"+e.StoreKey] = true
		mine[costNamespace+"ended:s:"+e.ID] = true
	}
	var want int
	var do func()
	switch op {
	case "list":
		want = n
		do = func() {
			got, err := c.m.List(ctx, uid)
			if err != nil || len(got) != n {
				t.Fatalf("List = %d entries, %v; want %d", len(got), err, n)
			}
		}
	case "revoke one":
		want = n - 1
		do = func() {
			if ok, err := c.m.Revoke(ctx, uid, entries[n-1].ID); err != nil || !ok {
				t.Fatalf("Revoke = %v, %v", ok, err)
			}
		}
	case "revoke others":
		want = 1
		do = func() {
			if ended, err := c.m.RevokeOthers(ctx, uid, entries[0].ID); err != nil || ended != n-1 {
				t.Fatalf("RevokeOthers = %d, %v; want %d ended", ended, err, n-1)
			}
		}
	default:
		t.Fatalf("unknown op %q", op)
	}
	var r costRun
	if measure {
		r = c.record(t, do, mine)
	} else {
		do()
	}
	if got, err := c.m.List(ctx, uid); err != nil || len(got) != want {
		t.Fatalf("after %s: %d sessions listed, %v; want %d", op, len(got), err, want)
	}
	return r
}

// record runs do with the server's statistics reset and MONITOR on.
func (c *costRig) record(t *testing.T, do func(), mine map[string]bool) costRun {
	t.Helper()
	mon, err := redis.DialURL(c.srv.URL(), redis.DialReadTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer mon.Close()
	if _, err := c.admin.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	if _, err := mon.Do("MONITOR"); err != nil {
		t.Fatal(err)
	}
	do()
	marker := "registry-cost-" + costRandom(8)
	if _, err := c.admin.Do("ECHO", marker); err != nil {
		t.Fatal(err)
	}
	var r costRun
	for {
		line, err := redis.String(mon.Receive())
		if err != nil {
			t.Fatalf("MONITOR: %v", err)
		}
		args, err := costParseMonitor(line)
		if err != nil {
			t.Fatalf("MONITOR line %q: %v", line, err)
		}
		if len(args) == 0 {
			continue
		}
		name := strings.ToLower(args[0])
		if name == "echo" && len(args) == 2 && args[1] == marker {
			break
		}
		r.traced++
		r.cmds = append(r.cmds, name+"/"+strconv.Itoa(len(args)))
		if len(args) > r.maxArity {
			r.maxArity, r.longest = len(args), line
		}
		for _, a := range args[1:] {
			if strings.HasPrefix(a, costNamespace) && !mine[a] {
				r.foreign = append(r.foreign, name+" "+a)
			}
		}
	}
	info, err := redis.String(c.admin.Do("INFO", "commandstats"))
	if err != nil {
		t.Fatal(err)
	}
	r.calls = map[string]int{}
	for _, l := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":calls=")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		name = strings.TrimPrefix(name, "cmdstat_")
		switch strings.SplitN(name, "|", 2)[0] {
		case "config", "info", "monitor", "echo": // the measuring itself
			continue
		}
		calls, _, _ := strings.Cut(rest, ",")
		n, err := strconv.Atoi(calls)
		if err != nil {
			t.Fatalf("commandstats line %q: %v", l, err)
		}
		r.calls[name] = n
	}
	return r
}

// costParseMonitor splits a MONITOR line — `1700000000.000001 [0
// 127.0.0.1:5000] "hget" "k" "f"`, or `[0 lua]` for a script's command —
// into its quoted arguments, escapes undone.
func costParseMonitor(line string) ([]string, error) {
	_, rest, ok := strings.Cut(line, "] ")
	if !ok {
		return nil, nil // e.g. the OK that answers MONITOR
	}
	var args []string
	for i := 0; i < len(rest); {
		if rest[i] == ' ' {
			i++
			continue
		}
		if rest[i] != '"' {
			return nil, fmt.Errorf("at %d: want a quote", i)
		}
		var b strings.Builder
		i++
		for ; i < len(rest) && rest[i] != '"'; i++ {
			if rest[i] != '\\' {
				b.WriteByte(rest[i])
				continue
			}
			i++
			if i >= len(rest) {
				return nil, fmt.Errorf("dangling escape")
			}
			switch rest[i] {
			case 'x':
				if i+2 >= len(rest) {
					return nil, fmt.Errorf("short \\x escape")
				}
				v, err := strconv.ParseUint(rest[i+1:i+3], 16, 8)
				if err != nil {
					return nil, err
				}
				b.WriteByte(byte(v))
				i += 2
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			default:
				b.WriteByte(rest[i])
			}
		}
		if i >= len(rest) {
			return nil, fmt.Errorf("unterminated argument")
		}
		i++
		args = append(args, b.String())
	}
	return args, nil
}

// bulk writes total sessions of other users, perUser each, pipelined on
// a few connections: for each, exactly what redisstore's Commit sends
// (MULTI, SET, PEXPIREAT, EXEC) and what Registry.Put sends (sendPut, EXEC).
func (c *costRig) bulk(t *testing.T, total, perUser int) {
	t.Helper()
	const workers, batch = 8, 1000
	until := time.Now().Add(time.Hour)
	per := total / workers
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			conn, err := redis.DialURL(c.srv.URL(), redis.DialReadTimeout(30*time.Second))
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			for from := w * per; from < (w+1)*per; from += batch {
				to := min(from+batch, (w+1)*per)
				for i := from; i < to; i++ {
					e := costEntry(until.Add(-2 * time.Hour))
					conn.Send("MULTI")
					conn.Send("SET", costNamespace+"session:"+e.StoreKey, costSessionData)
					conn.Send("PEXPIREAT", costNamespace+"session:"+e.StoreKey, until.UnixMilli())
					conn.Send("EXEC")
					if err := c.reg.sendPut(conn, costOtherUser+int64(i/perUser), e, until); err != nil {
						errs <- err
						return
					}
					conn.Send("EXEC")
				}
				if err := conn.Flush(); err != nil {
					errs <- err
					return
				}
				for range (to - from) * 9 {
					if _, err := conn.Receive(); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("bulk load: %v", err)
	}
}

// costSessionData stands for an encoded session: the operations measured
// never read it.
var costSessionData = []byte(strings.Repeat("s", 300))

func costEntry(created time.Time) session.Entry {
	return session.Entry{
		ID:       costRandom(12),
		StoreKey: session.StoreKey(costRandom(32)),
		Created:  created,
		LastSeen: created,
		IP:       "192.0.2.1",
		Device:   "Firefox on Linux",
	}
}

func costRandom(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
