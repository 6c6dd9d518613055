package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestRun_WritesALocalhostCertificateAndAPrivateKey(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "certs")
	if err := run([]string{"-dir", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "localhost.pem"), filepath.Join(dir, "localhost-key.pem")
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		t.Fatalf("the files are not a usable key pair: %v", err)
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.VerifyHostname("localhost"); err != nil {
		t.Error(err)
	}
	for _, ip := range []string{"127.0.0.1", "::1"} {
		if !slices.ContainsFunc(cert.IPAddresses, func(a net.IP) bool { return a.Equal(net.ParseIP(ip)) }) {
			t.Errorf("no SAN for %s: %v", ip, cert.IPAddresses)
		}
	}
	if err := cert.VerifyHostname("example.com"); err == nil {
		t.Error("the certificate is valid for example.com")
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok || pub.Curve != elliptic.P256() {
		t.Errorf("public key %T, want ECDSA P-256", cert.PublicKey)
	}
	if cert.IsCA {
		t.Error("the development certificate is a CA")
	}
	if life := time.Until(cert.NotAfter); life < 364*24*time.Hour || life > 366*24*time.Hour {
		t.Errorf("valid for another %v, want about a year", life)
	}
	info, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %o, want 600", mode)
	}

	// Run again over a key file someone made world-readable.
	os.Chmod(keyPath, 0o644)
	if err := run([]string{"-dir", dir}, io.Discard); err != nil {
		t.Fatal(err)
	}
	if info, _ := os.Stat(keyPath); info.Mode().Perm() != 0o600 {
		t.Errorf("after a second run the key file mode is %o, want 600", info.Mode().Perm())
	}
}
