package testenv_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// fakeGo stands in for go in `make test GO=…`: it leaves in the summary
// file what the test binaries of several packages would (the same skip
// twice, a substitute), says where the file is, and exits with
// $FAKE_GO_STATUS.
const fakeGo = `#!/bin/sh
for p in 1 2; do
	printf 'skip\tRedis\tnot reachable at 127.0.0.1:1, and no redis-server installed to start one\n' >>"$TESTENV_SKIPS"
	printf 'skip\tPostgreSQL\tnot reachable at 127.0.0.1:2\n' >>"$TESTENV_SKIPS"
	printf 'skip\tredis-server\tnot installed\n' >>"$TESTENV_SKIPS"
done
echo "summary file: $TESTENV_SKIPS"
exit "$FAKE_GO_STATUS"
`

// make test ends with one line naming each skipped service once, and
// fails exactly when go test fails.
func TestMakeTest_EndsWithOneSummaryLineAndFailsWhenGoTestFails(t *testing.T) {
	mk, err := exec.LookPath("make")
	if err != nil {
		testenv.Unavailable(t, "make", err)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	goBin := filepath.Join(t.TempDir(), "go")
	if err := os.WriteFile(goBin, []byte(fakeGo), 0o755); err != nil {
		t.Fatal(err)
	}
	const want = "skipped: Redis (not reachable at 127.0.0.1:1, and no redis-server installed to start one), " +
		"PostgreSQL (not reachable at 127.0.0.1:2), redis-server (not installed)"
	for _, status := range []string{"0", "1"} {
		cmd := exec.Command(mk, "-s", "-C", root, "test", "GO="+goBin)
		cmd.Env = append(os.Environ(), "FAKE_GO_STATUS="+status, "MAKEFLAGS=", "MAKELEVEL=")
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if failed := errors.As(err, &exit); failed != (status != "0") || (err != nil && !failed) {
			t.Errorf("go test exit %s: make test returned %v\n%s", status, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if status == "0" && lines[len(lines)-1] != want {
			t.Errorf("last line %q, want %q\n%s", lines[len(lines)-1], want, out)
		}
		if n := strings.Count(string(out), "skipped: "); n != 1 {
			t.Errorf("go test exit %s: %d summary lines, want 1\n%s", status, n, out)
		}
		m := regexp.MustCompile(`summary file: (\S+)`).FindSubmatch(out)
		if m == nil {
			t.Fatalf("the fake go did not run\n%s", out)
		}
		if _, err := os.Stat(string(m[1])); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the summary file %s is left behind (%v)", m[1], err)
		}
	}
}
