package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// The tests run the real application as a process: sessioncheck must not
// import it (it is package main of cmd/web anyway), so it is built once,
// into a directory that lives as long as the test binary.
var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// webBinary is the path of cmd/web, built for this test run.
func webBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		buildDir, buildErr = os.MkdirTemp("", "sessioncheck-test-")
		if buildErr != nil {
			return
		}
		// go test puts its own GOROOT/bin first on the PATH.
		goBin, err := exec.LookPath("go")
		if err != nil {
			buildErr = err
			return
		}
		cmd := exec.Command(goBin, "build", "-o", filepath.Join(buildDir, "web"), "github.com/sessionlab/sessionlab/cmd/web")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build ./cmd/web: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "web")
}

// app is a running cmd/web process.
type app struct {
	url  string // http(s)://127.0.0.1:port
	logs *testenv.SyncBuffer
}

// startApp runs cmd/web on a free loopback port with a fresh SQLite file,
// BCRYPT_COST=10 and JSON logs, plus env, and stops it when the test ends.
func startApp(t testing.TB, env map[string]string) *app {
	t.Helper()
	bin := webBinary(t)
	dir := t.TempDir()
	vars := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"DATABASE_URL": "sqlite:" + filepath.Join(dir, "app.db"),
		"BCRYPT_COST":  "10",
		"LOG_FORMAT":   "json",
	}
	for k, v := range env {
		vars[k] = v
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "TMPDIR=" + dir}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs := &testenv.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cmd/web: %v", err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})

	scheme := "http"
	if vars["TLS_CERT"] != "" {
		scheme = "https"
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if addr := testenv.ListeningAddr(logs.String()); addr != "" {
			a := &app{url: scheme + "://" + addr, logs: logs}
			a.mustBeHealthy(t)
			return a
		}
		select {
		case <-exited:
			t.Fatalf("cmd/web exited early:\n%s", logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cmd/web logged no listening line within 20s:\n%s", logs.String())
		}
	}
}

// mustBeHealthy checks /healthz once: cmd/web logs its listening line once
// the listener is open, so the first request is answered.
func (a *app) mustBeHealthy(t testing.TB) {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: testCert(t).pool}}}
	defer client.CloseIdleConnections()
	res, err := client.Get(a.url + "/healthz")
	if err != nil {
		t.Fatalf("%s/healthz: %v\n%s", a.url, err, a.logs.String())
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s/healthz: %d, want 200\n%s", a.url, res.StatusCode, a.logs.String())
	}
}

// cert is a self-signed certificate for 127.0.0.1 and localhost.
type cert struct {
	certFile, keyFile string
	pair              tls.Certificate
	pool              *x509.CertPool
}

var (
	certOnce sync.Once
	theCert  *cert
	certErr  error
)

// testCert makes the test binary's one certificate (files in the build
// directory, removed at exit).
func testCert(t testing.TB) *cert {
	t.Helper()
	webBinary(t) // the directory
	certOnce.Do(func() { theCert, certErr = makeCert(buildDir) })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return theCert
}

func makeCert(dir string) (*cert, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	c := &cert{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	if err := os.WriteFile(c.certFile, certPEM, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(c.keyFile, keyPEM, 0o600); err != nil {
		return nil, err
	}
	if c.pair, err = tls.X509KeyPair(certPEM, keyPEM); err != nil {
		return nil, err
	}
	c.pool.AppendCertsFromPEM(certPEM)
	return c, nil
}

// runCheck runs sessioncheck with args (as on the command line) and
// returns its report.
func runCheck(t testing.TB, args ...string) *report {
	t.Helper()
	opts, err := parseFlags(args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("flags %q: %v", args, err)
	}
	if err := checkTarget(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	var notes testenv.SyncBuffer
	rep, err := check(context.Background(), opts, &notes)
	if err != nil {
		t.Fatalf("sessioncheck %q: %v\n%s", args, err, notes.String())
	}
	return rep
}

// table is the report as text, for failure messages.
func table(rep *report) string {
	var sb strings.Builder
	writeTable(&sb, rep)
	return sb.String()
}
