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
// SECURITY(tls): with REDIS_CA_FILE the server must chain to that file's
// CAs and no other (the system's roots are not added) — ASVS 5.0 12.3.4.
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
