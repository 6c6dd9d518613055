package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/sessionlab/sessionlab/internal/config"
)

// healthcheckTimeout bounds the whole probe; a container runtime's own
// timeout (the Dockerfile's HEALTHCHECK --timeout) is longer.
const healthcheckTimeout = 3 * time.Second

// healthcheck asks the server started with the same configuration for
// /healthz on loopback and returns nil only for a 200. It is the
// Dockerfile's HEALTHCHECK: the final image has no shell and no curl.
func healthcheck(ctx context.Context, cfg config.Config, stdout io.Writer) error {
	url := healthzURL(cfg)
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	client := &http.Client{
		Transport: &http.Transport{
			// The certificate names the public host, not 127.0.0.1.
			// SECURITY(tls): the one client that skips verification (an
			// exception to ASVS 5.0 12.3.2): it talks to its own process
			// on loopback, sends nothing secret, reads only the status.
			TLSClientConfig: &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
			Proxy:           nil, // never through HTTP(S)_PROXY
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", url, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s answered %s\n", url, resp.Status)
	return nil
}

// healthzURL is /healthz on the address the server listens on (ADDR), with
// a wildcard host replaced by loopback.
func healthzURL(cfg config.Config) string {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil { // config.Load has validated ADDR
		host, port = "", "8080"
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	return scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
}
