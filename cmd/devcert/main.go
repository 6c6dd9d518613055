// Command devcert writes a self-signed certificate for local HTTPS
// development: `make cert` runs it, and the app serves HTTPS with
//
//	TLS_CERT=certs/localhost.pem TLS_KEY=certs/localhost-key.pem make run
//
// The certificate is for localhost, 127.0.0.1 and ::1 only, valid for one
// year, with an ECDSA P-256 key. It is made with Go's crypto/x509, no
// external tool. Browsers will warn that it is not trusted (no authority
// signed it) until you accept it once; never use it outside development.
package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "devcert:", err)
		os.Exit(1)
	}
}

// validity is how long the certificate is valid.
const validity = 365 * 24 * time.Hour

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("devcert", flag.ContinueOnError)
	dir := fs.String("dir", "certs", "directory to write localhost.pem and localhost-key.pem into")
	if err := fs.Parse(args); err != nil {
		return err
	}
	certPEM, keyPEM, err := generate(time.Now())
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	certPath := filepath.Join(*dir, "localhost.pem")
	keyPath := filepath.Join(*dir, "localhost-key.pem")
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return err
	}
	// SECURITY(tls): the private key is readable by its owner only, set
	// again in case the file existed with a wider mode — ASVS 5.0 13.3.2.
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return err
	}
	if err := os.Chmod(keyPath, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s and %s (localhost, 127.0.0.1, ::1; valid until %s)\n",
		certPath, keyPath, time.Now().Add(validity).Format("2006-01-02"))
	fmt.Fprintf(stdout, "run: TLS_CERT=%s TLS_KEY=%s make run\n", certPath, keyPath)
	return nil
}

// generate returns a self-signed certificate and its private key, in PEM.
func generate(now time.Time) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, nil, fmt.Errorf("serial number: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{Organization: []string{"Session Lab development"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour), // tolerate a little clock skew
		NotAfter:     now.Add(validity),
		// A server certificate, not an authority: it cannot sign others.
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		// Browsers match the subject alternative names, not the common name.
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}
