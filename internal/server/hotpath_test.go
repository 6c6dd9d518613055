package server_test

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

var cmdstatRE = regexp.MustCompile(`(?m)^cmdstat_([a-z|]+):calls=(\d+)`)

// redisCalls is INFO commandstats as command → calls, leaving out the
// commands the test itself sends.
func redisCalls(t *testing.T, conn redis.Conn) map[string]int {
	t.Helper()
	info, err := redis.String(conn.Do("INFO", "commandstats"))
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for _, m := range cmdstatRE.FindAllStringSubmatch(info, -1) {
		if m[1] == "info" || m[1] == "config|resetstat" {
			continue
		}
		calls[m[1]], _ = strconv.Atoi(m[2])
	}
	return calls
}

// A signed-in request whose session did not change costs one Redis
// command, a GET: the idle expiry and the registry are refreshed once per
// interval, and no page but /sessions lists the registry. Counted on a
// private redis-server, so no other test's commands are in the figures.
func TestHotPath_OneRedisCommandPerUnchangedSignedInRequest(t *testing.T) {
	srv := testenv.StartRedisServer(t)
	b := backend{name: "redis", open: func(t *testing.T) *storeEnv {
		return redisStoreEnv(t, srv.URL(), testenv.RedisPrefix(t, srv.URL()))
	}}
	app := newApp(t, b) // the default idle timeout: refreshed once a minute
	email, pw := newUser()
	c := app.newClient()
	c.signup(email, pw)
	c.mustBeSignedIn(email)

	conn := mustRedis(t, srv.URL())
	defer conn.Close()
	if _, err := conn.Do("CONFIG", "RESETSTAT"); err != nil {
		t.Fatal(err)
	}
	pages := []string{"/profile", "/", "/practices", "/account/password"}
	const n = 100
	for i := range n {
		r := c.get(pages[i%len(pages)])
		if r.status != http.StatusOK || !strings.Contains(r.body, `action="/logout"`) {
			t.Fatalf("GET %s: %d, want 200 signed in", pages[i%len(pages)], r.status)
		}
	}
	calls := redisCalls(t, conn)
	total := 0
	for _, v := range calls {
		total += v
	}
	t.Logf("%d signed-in requests: %d Redis commands %v", n, total, calls)
	if perRequest := float64(total) / n; perRequest > 1.1 {
		t.Errorf("%.2f Redis commands per unchanged signed-in request, want ≤ 1.1: %v", perRequest, calls)
	}
	if calls["get"] != n {
		t.Errorf("%d GETs for %d requests, want one each", calls["get"], n)
	}
}
