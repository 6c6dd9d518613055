package main

import (
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// allArgs turns on every opt-in check: the idle wait (SESSION_IDLE_TIMEOUT
// is 5s) and IP binding from a second loopback address included.
var allArgs = []string{"-all", "-idle", "6s", "-source-ip", "127.0.0.2", "-deadline", "2m"}

// Against the real app every check passes, on both session stores: SQLite
// served over TLS (so HSTS is checked too) and Redis over plain HTTP on
// 127.0.0.1, as `make run` serves it.
func TestRealApp_EveryCheckPasses(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		c := testCert(t)
		a := startApp(t, map[string]string{"SESSION_IDLE_TIMEOUT": "5s", "TLS_CERT": c.certFile, "TLS_KEY": c.keyFile})
		rep := runCheck(t, append([]string{"-url", a.url, "-cacert", c.certFile}, allArgs...)...)
		assertFailures(t, rep, nil)
		if rep.Skipped != 0 {
			t.Errorf("%d checks skipped over https with every opt-in on\n%s", rep.Skipped, table(rep))
		}
		t.Logf("%d requests in %d ms", rep.Requests, rep.DurationMS)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartRedisServer(t)
		a := startApp(t, map[string]string{"SESSION_IDLE_TIMEOUT": "5s", "REDIS_URL": srv.URL()})
		rep := runCheck(t, append([]string{"-url", a.url}, allArgs...)...)
		assertFailures(t, rep, nil)
		if r := rep.result("hsts"); r.Status != statusSkip || rep.Skipped != 1 {
			t.Errorf("over plain http only hsts may skip; %d skipped\n%s", rep.Skipped, table(rep))
		}
		t.Logf("%d requests in %d ms", rep.Requests, rep.DurationMS)

		// The sessions really were in this Redis.
		conn, err := redis.DialURL(srv.URL())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if keys := testenv.RedisKeys(t, conn, "sessionlab:"); len(keys) == 0 {
			t.Error("no sessionlab: key in the app's Redis: the sessions were not kept there")
		}
	})
}
