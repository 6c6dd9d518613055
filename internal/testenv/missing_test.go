package testenv_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// TestServices_RedisAndPostgresAnswer needs both services. Here it proves
// they answer; the tests below run it again in a child process with the
// services missing, and watch what a developer or CI would see.
func TestServices_RedisAndPostgresAnswer(t *testing.T) {
	t.Run("redis", func(t *testing.T) {
		u := testenv.RedisURL(t)
		t.Logf("redis at %s", u)
		conn, err := redis.DialURL(u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if pong, err := redis.String(conn.Do("PING")); pong != "PONG" || err != nil {
			t.Errorf("PING = %q, %v", pong, err)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		db := testenv.Postgres(t)
		if err := db.SQL.PingContext(t.Context()); err != nil {
			t.Error(err)
		}
	})
}

// child is one run of TestServices_RedisAndPostgresAnswer in a process of
// its own.
type child struct {
	out    string // its -test.v output
	err    error  // its exit
	skips  string // what it left in the summary file
	closed [2]int // the ports TEST_REDIS_URL and TEST_DATABASE_URL point at
}

// runChild runs the services test with nothing listening at
// TEST_REDIS_URL and TEST_DATABASE_URL, with CI set to ci and, unless path
// is "", PATH set to path.
func runChild(t *testing.T, ci, path string) child {
	t.Helper()
	// Ports held closed for the whole test: a FreePort, once released, can
	// be handed to the redis-server the child starts, which then answers
	// at the very address the child was told is down.
	c := child{closed: [2]int{testenv.ClosedPort(t), testenv.ClosedPort(t)}}
	skips := filepath.Join(t.TempDir(), "skips")
	env := []string{"CI=" + ci, testenv.SkipsFileEnv + "=" + skips,
		fmt.Sprintf("TEST_REDIS_URL=redis://127.0.0.1:%d/0", c.closed[0]),
		fmt.Sprintf("TEST_DATABASE_URL=postgres://postgres@127.0.0.1:%d/test?sslmode=disable", c.closed[1])}
	drop := []string{"CI", testenv.SkipsFileEnv, "TEST_REDIS_URL", "TEST_DATABASE_URL"}
	if path != "" {
		env = append(env, "PATH="+path)
		drop = append(drop, "PATH")
	}
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); !slices.Contains(drop, k) {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServices_RedisAndPostgresAnswer$", "-test.v", "-test.count=1")
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	c.out, c.err, c.skips = string(out), err, readFile(t, skips)
	return c
}

// String shows the child's exit and summary file after its output too, so
// that a log cut to its last lines still has them.
func (c child) String() string {
	return fmt.Sprintf("exit: %v\nsummary file: %q\noutput:\n%s\n(end of output; exit: %v; summary file: %q; closed ports %v)",
		c.err, c.skips, c.out, c.err, c.skips, c.closed)
}

// On a machine with Go alone, the tests that need Redis or PostgreSQL
// skip, each with one line that says why, the summary file names both,
// and the run passes.
func TestWithoutServices_TestsSkipWithOneLineAndTheSummaryNamesThem(t *testing.T) {
	c := runChild(t, "", t.TempDir()) // an empty PATH: no redis-server
	if c.err != nil {
		t.Fatalf("the run failed, want it to pass with skips\n%s", c)
	}
	redisReason := fmt.Sprintf("not reachable at 127.0.0.1:%d, and no redis-server installed to start one", c.closed[0])
	pgReason := fmt.Sprintf("not reachable at 127.0.0.1:%d", c.closed[1])
	for _, want := range []struct{ test, line string }{
		{"redis", fmt.Sprintf("skipping: Redis %s (dial tcp 127.0.0.1:%d: connect: connection refused)", redisReason, c.closed[0])},
		{"postgres", fmt.Sprintf("skipping: PostgreSQL %s (dial tcp 127.0.0.1:%d: connect: connection refused)", pgReason, c.closed[1])},
	} {
		// The whole message on its line, the next one go test's own
		// (=== RUN, --- PASS...), not a continuation.
		re := regexp.MustCompile(`(?m)^\s+\w+_test\.go:\d+: ` + regexp.QuoteMeta(want.line) + `\n\s*(===|---) `)
		if !re.MatchString(c.out) {
			t.Errorf("no one-line skip %q for the %s subtest\n%s", want.line, want.test, c)
		}
		if !strings.Contains(c.out, "--- SKIP: TestServices_RedisAndPostgresAnswer/"+want.test+" ") {
			t.Errorf("the %s subtest did not skip\n%s", want.test, c)
		}
	}
	if want := "skip\tRedis\t" + redisReason + "\nskip\tPostgreSQL\t" + pgReason + "\n"; c.skips != want {
		t.Errorf("summary file %q, want %q", c.skips, want)
	}
}

// In CI the same run fails, and nothing skips.
func TestWithoutServices_InCITheTestsFail(t *testing.T) {
	c := runChild(t, "true", t.TempDir())
	var exit *exec.ExitError
	if !errors.As(c.err, &exit) {
		t.Fatalf("the run did not fail, want it to in CI\n%s", c)
	}
	for _, want := range []string{"--- FAIL: TestServices_RedisAndPostgresAnswer/redis", "Redis is required in CI but unavailable",
		"--- FAIL: TestServices_RedisAndPostgresAnswer/postgres", "PostgreSQL is required in CI but unavailable"} {
		if !strings.Contains(c.out, want) {
			t.Errorf("output lacks %q\n%s", want, c)
		}
	}
	if strings.Contains(c.out, "--- SKIP") || c.skips != "" {
		t.Errorf("something skipped in CI\n%s", c)
	}
}

// Where redis-server is installed but nothing answers at TEST_REDIS_URL,
// the tests run on a redis-server of their own instead of skipping, and
// it is gone once the test binary has exited.
func TestRedisDown_TestsStartTheirOwnRedisServer(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		testenv.Unavailable(t, "redis-server", err)
	}
	c := runChild(t, "", "")
	if c.err != nil || !strings.Contains(c.out, "--- PASS: TestServices_RedisAndPostgresAnswer/redis ") {
		t.Fatalf("the redis subtest did not pass, want it to on a redis-server of its own\n%s\n(the redis subtest did not pass)", c)
	}
	m := regexp.MustCompile(`redis at redis://(127\.0\.0\.1:(\d+))/0`).FindStringSubmatch(c.out)
	if m == nil || m[2] == fmt.Sprint(c.closed[0]) {
		t.Fatalf("the redis subtest did not log a server of its own\n%s\n(the redis subtest did not log a server of its own)", c)
	}
	want := fmt.Sprintf("note\tRedis\tnot reachable at 127.0.0.1:%d; the tests started a redis-server of their own\n"+
		"skip\tPostgreSQL\tnot reachable at 127.0.0.1:%d\n", c.closed[0], c.closed[1])
	if c.skips != want {
		t.Errorf("summary file %q, want %q\n%s", c.skips, want, c)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", m[1], time.Second)
		if err != nil {
			break // gone
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatalf("the tests' own redis-server still answers at %s after the test binary exited", m[1])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
