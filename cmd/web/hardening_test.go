package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

// ASVS 5.0 3.4.1, 12.1.1: with TLS_CERT and TLS_KEY the program serves
// HTTPS only, TLS 1.2 at least, and sends HSTS; without them it sends none.
func TestRun_ServesHTTPSWithHSTSWhenGivenACertificate(t *testing.T) {
	certFile, keyFile, roots := writeLocalhostCert(t)
	base := map[string]string{
		"ADDR":         "127.0.0.1:0",
		"DATABASE_URL": "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
		"LOG_FORMAT":   "json",
		"BCRYPT_COST":  "10",
		// Workers of this -race test binary at the server's priority: at nice
		// 10 they start and hash too slowly while other packages load the CPUs
		// (TestBinary_BcryptRuns... checks the niceness, on the built binary).
		"BCRYPT_NICE": "0",
		"TLS_CERT":    certFile,
		"TLS_KEY":     keyFile,
	}
	ctx, cancel := context.WithCancel(context.Background())
	logs := &testenv.SyncBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"web"}, func(k string) string { return base[k] }, logs, logs) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	defer client.CloseIdleConnections()
	addr := waitListening(t, logs, done) // logged once the listener is open
	res, err := client.Get("https://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("https /healthz: %v\n%s", err, logs.String())
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET https://%s/healthz: %d, want 200", addr, res.StatusCode)
	}
	if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=31536000; includeSubDomains" {
		t.Errorf("Strict-Transport-Security = %q, want max-age=31536000; includeSubDomains", got)
	}
	if res.TLS == nil || res.TLS.Version < tls.VersionTLS12 {
		t.Errorf("negotiated %v, want TLS 1.2 or later", res.TLS)
	}

	// A client that offers nothing newer than TLS 1.1 is refused (by the
	// server: "protocol version not supported").
	old, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
	if err == nil {
		old.Close()
		t.Error("a TLS 1.1 handshake succeeded")
	}

	// TLS 1.2 with CBC (and SHA-1 MAC) suites only is refused; with an AEAD
	// suite it is accepted.
	cbc := []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
		tls.TLS_RSA_WITH_AES_128_CBC_SHA, tls.TLS_RSA_WITH_AES_256_CBC_SHA, tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	}
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12, CipherSuites: cbc}); err == nil {
		c.Close()
		t.Errorf("a TLS 1.2 handshake offering only CBC suites succeeded (%s)", tls.CipherSuiteName(c.ConnectionState().CipherSuite))
	}
	aead := []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	if c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "localhost", MaxVersion: tls.VersionTLS12, CipherSuites: aead}); err != nil {
		t.Errorf("a TLS 1.2 handshake with an AEAD suite failed: %v", err)
	} else {
		c.Close()
	}

	// Plain HTTP on the HTTPS port is not served.
	if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		if res.StatusCode == http.StatusOK {
			t.Error("plain HTTP on the TLS listener answered 200")
		}
	}
}

func TestRun_PlainHTTPSendsNoHSTS(t *testing.T) {
	addr, _, _ := startRun(t, nil)
	res, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if got := res.Header.Values("Strict-Transport-Security"); len(got) != 0 {
		t.Errorf("plain HTTP: Strict-Transport-Security = %q, want none", got)
	}
	if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("plain HTTP: X-Content-Type-Options = %q, want nosniff (the other headers do not depend on TLS)", got)
	}
}

// CS denial of service: the real server refuses an over-long header with
// 431 (MaxHeaderBytes), long before a handler would run; an ordinary
// request on the same server is served.
func TestRun_OverLongHeaderIsRefused(t *testing.T) {
	addr, _, _ := startRun(t, nil)
	send := func(headerValue string) int {
		t.Helper()
		conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\nX-Padding: %s\r\nConnection: close\r\n\r\n", addr, headerValue)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := send(strings.Repeat("a", 1<<10)); got != http.StatusOK {
		t.Errorf("a 1 KiB header: %d, want 200", got)
	}
	// 64 KiB: well past MaxHeaderBytes (16 KiB, plus net/http's 4 KiB of
	// slack), and far below net/http's default 1 MiB.
	if got := send(strings.Repeat("a", 64<<10)); got != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 64 KiB header line: %d, want 431", got)
	}
}

// waitListening returns the address run logged it listens on.
func waitListening(t *testing.T, logs *testenv.SyncBuffer, done chan error) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if addr := testenv.ListeningAddr(logs.String()); addr != "" {
			return addr
		}
		select {
		case err := <-done:
			done <- err // for the cleanup
			t.Fatalf("run returned early: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line within 10s:\n%s", logs.String())
		}
	}
}

// writeLocalhostCert writes a certificate for 127.0.0.1 and localhost,
// issued by a throwaway test CA, and returns the files and a pool that
// trusts it.
func writeLocalhostCert(t *testing.T) (certFile, keyFile string, roots *x509.CertPool) {
	t.Helper()
	ca := testenv.NewTestCA(t)
	certFile, keyFile = ca.Issue(t, "127.0.0.1", "localhost")
	return certFile, keyFile, ca.Pool
}

// A flood of idle connections meets MAX_CONNECTIONS: past it, a new
// client waits (in the kernel's backlog) instead of the server opening
// sockets until it runs out of file descriptors; once one closes, the
// waiting client is served.
func TestRun_ConnectionCapHoldsBackTheConnectionPastIt(t *testing.T) {
	const max = 3
	addr, _, _ := startRun(t, map[string]string{"MAX_CONNECTIONS": "3"})
	http.DefaultClient.CloseIdleConnections() // startRun's health checks
	var idle []net.Conn
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		idle = append(idle, c)
		t.Cleanup(func() { c.Close() })
	}
	client := &http.Client{Timeout: 500 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
	if res, err := client.Get("http://" + addr + "/healthz"); err == nil {
		res.Body.Close()
		t.Fatalf("with %d connections open, one more was served (%d)", max, res.StatusCode)
	}
	idle[0].Close()
	client.Timeout = 5 * time.Second
	res, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("after one connection closed, a new client was still not served: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d, want 200", res.StatusCode)
	}
}
