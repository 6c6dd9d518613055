package assembly

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
)

// redisTLSConfig is the TLS configuration for a rediss:// REDIS_URL: nil
// (the system's roots) without REDIS_CA_FILE, otherwise roots read from
// that PEM file. redisdb.NewPoolTLS adds the TLS floor and the server name.
//
// SECURITY(tls): with REDIS_CA_FILE the server must chain to the CAs in
// that file and to no other (the system's roots are not added), so a
// private Redis is trusted only through its own CA — ASVS 5.0 12.3.4,
// https://github.com/OWASP/ASVS/blob/master/5.0/en/0x21-V12-Secure-Communication.md
func redisTLSConfig(caFile string) (*tls.Config, error) {
	if caFile == "" {
		return nil, nil
	}
	pemBytes, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("REDIS_CA_FILE: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pemBytes) {
		return nil, fmt.Errorf("REDIS_CA_FILE=%s: no PEM certificate in the file", caFile)
	}
	return &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, nil
}
