package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// RedisServer is a private redis-server process a test can stop and start,
// to watch the app lose and regain its session store.
type RedisServer struct {
	tb   testing.TB
	port int
	opts RedisServerOptions
	cmd  *exec.Cmd
}

// RedisServerOptions make StartRedisServerWith's server look like a
// managed Redis: TLS only, passwords, ACL users.
type RedisServerOptions struct {
	// TLS, when set, makes the server speak TLS only, on its one port
	// (--port 0 --tls-port), without asking clients for a certificate.
	TLS *RedisTLS
	// Args are more redis-server arguments, e.g. "--requirepass", pw, or
	// "--user", "alice", "on", ">"+pw, "~*", "&*", "+@all".
	Args []string
}

// RedisTLS is a TLS server's certificate and key, and the CA that issued
// them (see TestCA).
type RedisTLS struct {
	CertFile, KeyFile string
	CA                *TestCA
}

// StartRedisServer runs redis-server on a free loopback port, without
// persistence, and stops it when the test ends. Without the redis-server
// binary it follows the rules of Unavailable.
func StartRedisServer(tb testing.TB) *RedisServer {
	tb.Helper()
	return StartRedisServerWith(tb, RedisServerOptions{})
}

// StartRedisServerWith is StartRedisServer with opts. The server counts
// as started once it answers PING, with a reply or an error such as
// NOAUTH: the probe does not authenticate.
func StartRedisServerWith(tb testing.TB, opts RedisServerOptions) *RedisServer {
	tb.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		Unavailable(tb, "redis-server", err)
	}
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	s := &RedisServer{tb: tb, port: port, opts: opts}
	s.Start()
	tb.Cleanup(s.Stop)
	return s
}

// URL is the server's URL, without credentials: redis://, or rediss://
// for a TLS server.
func (s *RedisServer) URL() string { return s.opts.url(s.port) }

func (o RedisServerOptions) url(port int) string {
	scheme := "redis"
	if o.TLS != nil {
		scheme = "rediss"
	}
	return fmt.Sprintf("%s://127.0.0.1:%d/0", scheme, port)
}

// Port is the server's port (its TLS port for a TLS server).
func (s *RedisServer) Port() int { return s.port }

// Start starts the server (again) and waits until it answers.
func (s *RedisServer) Start() {
	s.tb.Helper()
	args, dialOpts := s.opts.command(s.port)
	s.cmd = exec.Command("redis-server", args...)
	var out SyncBuffer // its log, shown if it does not come up
	s.cmd.Stdout, s.cmd.Stderr = &out, &out
	if err := s.cmd.Start(); err != nil {
		s.tb.Fatalf("start redis-server: %v", err)
	}
	if err := waitForRedis(s.port, dialOpts); err != nil {
		s.tb.Fatalf("redis-server on port %d did not answer: %v\n%s", s.port, err, out.String())
	}
}

// command is the redis-server arguments for a server on port, and the
// options to dial it with.
func (o RedisServerOptions) command(port int) (args []string, dialOpts []redis.DialOption) {
	args = []string{"--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""}
	dialOpts = []redis.DialOption{redis.DialConnectTimeout(time.Second), redis.DialReadTimeout(time.Second)}
	if t := o.TLS; t != nil {
		args = append(args, "--port", "0", "--tls-port", strconv.Itoa(port),
			"--tls-cert-file", t.CertFile, "--tls-key-file", t.KeyFile,
			"--tls-ca-cert-file", t.CA.CertFile, "--tls-auth-clients", "no")
		// The probe asks only whether the server is up, whatever names its
		// certificate holds; verifying it is what the tests do.
		dialOpts = append(dialOpts, redis.DialUseTLS(true),
			redis.DialTLSConfig(&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}))
	} else {
		args = append(args, "--port", strconv.Itoa(port))
	}
	return append(args, o.Args...), dialOpts
}

// waitForRedis waits up to 10 s until the server on port answers PING.
func waitForRedis(port int, dialOpts []redis.DialOption) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := redis.DialContext(context.Background(), "tcp", addr, dialOpts...)
		if err == nil {
			_, err = conn.Do("PING")
			conn.Close()
			var reply redis.Error // e.g. NOAUTH: the server is up
			if err == nil || errors.As(err, &reply) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// FreePort is a loopback TCP port nothing listens on (yet).
func FreePort(tb testing.TB) int {
	tb.Helper()
	port, err := freePort()
	if err != nil {
		tb.Fatal(err)
	}
	return port
}

// ClosedPort is a loopback TCP port that refuses connections for the whole
// test: a socket of the test's holds it bound but not listening, so no
// other process's port-0 bind (a redis-server a child starts, another
// package's test) can be given it meanwhile, as it can a FreePort.
func ClosedPort(tb testing.TB) int {
	tb.Helper()
	// No SO_REUSEADDR: another socket binding the port would conflict.
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		tb.Fatalf("closed port: socket: %v", err)
	}
	tb.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		tb.Fatalf("closed port: bind: %v", err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		tb.Fatalf("closed port: getsockname: %v", err)
	}
	return sa.(*syscall.SockaddrInet4).Port
}

// freePort is a loopback TCP port nothing listens on (yet).
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Stop kills the server and waits for it to exit.
func (s *RedisServer) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	s.cmd.Process.Kill()
	s.cmd.Wait()
	s.cmd = nil
}

// Pause freezes the server (SIGSTOP): it keeps its connections and
// accepts new ones, but answers nothing, as a hung Redis does.
func (s *RedisServer) Pause() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
		s.tb.Fatalf("pause redis-server: %v", err)
	}
}

// Resume lets a paused server run again (SIGCONT).
func (s *RedisServer) Resume() {
	s.tb.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGCONT); err != nil {
		s.tb.Fatalf("resume redis-server: %v", err)
	}
}
