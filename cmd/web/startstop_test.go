package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// process is the built cmd/web binary, running.
type process struct {
	cmd    *exec.Cmd
	out    *testenv.SyncBuffer // stdout and stderr
	exited chan struct{}       // closed once it has exited; then cmd.ProcessState is set
}

// startBinary runs bin with a fresh SQLite file on a free loopback port,
// plus env, and kills it if the test ends with it still running.
func startBinary(t *testing.T, bin string, env ...string) *process {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"ADDR=127.0.0.1:0", "DATABASE_URL=sqlite:" + filepath.Join(dir, "app.db"), "BCRYPT_COST=10",
	}, env...)
	p := &process{cmd: cmd, out: &testenv.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// waitFor returns the first match of re in the output, failing the test
// after 20 s or when the process exits first.
func (p *process) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.out.String()); m != nil {
			return m
		}
		select {
		case <-p.exited:
			t.Fatalf("exited (%v) before %q appeared:\n%s", p.cmd.ProcessState, re, p.out.String())
		case <-deadline:
			t.Fatalf("no %q within 20 s:\n%s", re, p.out.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitExit waits at most limit for the process to exit.
func (p *process) waitExit(t *testing.T, limit time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-p.exited:
		return p.cmd.ProcessState
	case <-time.After(limit):
		t.Fatalf("still running %v after the signal:\n%s", limit, p.out.String())
		return nil
	}
}

var startupLine = regexp.MustCompile(`(?m)^Session Lab on (http://\S+) — store (\S+), idle (\S+), lifetime (\S+), IP binding (\S+)$`)

// The binary as `make run` starts it: one plain line names the URL and
// the session settings in force; Ctrl-C (SIGINT) stops it gracefully with
// exit status 0, and a second Ctrl-C during a shutdown that waits for a
// request ends it at once.
func TestBinary_StartUpLineAndCtrlC(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "web")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	t.Run("one Ctrl-C: graceful stop, exit status 0", func(t *testing.T) {
		p := startBinary(t, bin, "SESSION_IDLE_TIMEOUT=7m", "SESSION_LIFETIME=3h", "SESSION_IP_BINDING=subnet")
		m := p.waitFor(t, startupLine)
		if got, want := m[2:], []string{"sqlite", "7m", "3h", "subnet"}; strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("start-up line says store, idle, lifetime, IP binding = %q, want %q", got, want)
		}
		res, err := http.Get(m[1] + "/healthz")
		if err != nil {
			t.Fatalf("the URL of the start-up line: %v", err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Errorf("GET %s/healthz: %d, want 200", m[1], res.StatusCode)
		}

		p.cmd.Process.Signal(os.Interrupt)
		st := p.waitExit(t, 20*time.Second)
		if st.ExitCode() != 0 {
			t.Errorf("exit status after Ctrl-C: %v, want 0\n%s", st, p.out.String())
		}
		if !strings.Contains(p.out.String(), "msg=stopped") {
			t.Errorf("no stopped line:\n%s", p.out.String())
		}
	})

	t.Run("a second Ctrl-C ends a shutdown that waits for a request", func(t *testing.T) {
		p := startBinary(t, bin)
		m := p.waitFor(t, startupLine)
		addr := strings.TrimPrefix(m[1], "http://")
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		// With Expect: 100-continue the server says "100 Continue" once the
		// handler reads the body: from then on the request is in flight,
		// and the shutdown waits for it (up to shutdownGrace).
		fmt.Fprintf(conn, "POST /login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\nExpect: 100-continue\r\n\r\n", addr)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil || !strings.Contains(status, "100 Continue") {
			t.Fatalf("want 100 Continue, got %q (%v)", status, err)
		}

		p.cmd.Process.Signal(os.Interrupt)
		p.waitFor(t, regexp.MustCompile(`msg="shutting down"`))
		start := time.Now()
		p.cmd.Process.Signal(os.Interrupt)
		st := p.waitExit(t, 5*time.Second)
		if ws, ok := st.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGINT {
			t.Errorf("after the second Ctrl-C: %v, want ended by SIGINT", st)
		}
		t.Logf("ended %v after the second Ctrl-C (shutdownGrace is %v)", time.Since(start).Round(time.Millisecond), shutdownGrace)
	})
}

// With LOG_FORMAT=json the start-up line is a log record: the same
// sentence, and the values as fields, naming the store actually opened.
func TestRun_StartUpRecordNamesTheStoreInForce(t *testing.T) {
	for _, tc := range []struct {
		store string
		env   func(t *testing.T) map[string]string
	}{
		{"sqlite", func(*testing.T) map[string]string { return nil }},
		{"postgres", func(t *testing.T) map[string]string {
			return map[string]string{"DATABASE_URL": testenv.PostgresURL(t)}
		}},
		{"redis", func(t *testing.T) map[string]string {
			return map[string]string{"REDIS_URL": testenv.RedisURL(t)}
		}},
	} {
		t.Run(tc.store, func(t *testing.T) {
			env := tc.env(t)
			if env == nil {
				env = map[string]string{}
			}
			env["SESSION_IDLE_TIMEOUT"], env["SESSION_IP_BINDING"] = "90s", "log"
			_, stop, logs := startRun(t, env)
			if err := stop(); err != nil {
				t.Fatal(err)
			}
			var rec struct {
				Msg, Store, Lifetime string
				IdleTimeout          string `json:"idle_timeout"`
				IPBinding            string `json:"ip_binding"`
			}
			sc := bufio.NewScanner(strings.NewReader(logs.String()))
			for sc.Scan() {
				if json.Unmarshal(sc.Bytes(), &rec) == nil && strings.HasPrefix(rec.Msg, "Session Lab on ") {
					break
				}
				rec.Msg = ""
			}
			want := "store " + tc.store + ", idle 1m30s, lifetime 12h, IP binding log"
			if !strings.HasSuffix(rec.Msg, want) {
				t.Errorf("start-up record %q, want it to end %q\n%s", rec.Msg, want, logs.String())
			}
			if rec.Store != tc.store || rec.IdleTimeout != "1m30s" || rec.Lifetime != "12h" || rec.IPBinding != "log" {
				t.Errorf("start-up record fields %+v, want store %s, idle 1m30s, lifetime 12h, IP binding log", rec, tc.store)
			}
		})
	}
}
