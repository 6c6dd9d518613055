package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// checkTarget refuses a target that is not on a loopback address unless
// -allow-remote was given. A host name counts as loopback only when every
// address it resolves to is.
//
// The checks sign up accounts, fail logins on purpose and (opt-in) trip
// the login throttle: against someone else's server that is an attack, so
// leaving the machine takes an explicit flag.
func checkTarget(ctx context.Context, o options) error {
	if o.allowRemote {
		return nil
	}
	host := o.target.Hostname()
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("%s is not a loopback address: give -allow-remote to check a remote deployment", host)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolve %s: %w", host, err)
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return fmt.Errorf("%s resolves to %s, not a loopback address: give -allow-remote to check a remote deployment", host, a)
		}
	}
	if len(addrs) == 0 {
		return fmt.Errorf("resolve %s: no address", host)
	}
	return nil
}

// newClient is an HTTP client that follows no redirects and keeps no
// cookies (each browser keeps its own, see browser.go), optionally
// connecting from a given local address.
func newClient(o options, source netip.Addr) *http.Client {
	dialer := &net.Dialer{Timeout: o.timeout, KeepAlive: 30 * time.Second}
	if source.IsValid() {
		dialer.LocalAddr = &net.TCPAddr{IP: source.AsSlice()}
	}
	tr := &http.Transport{
		Proxy:                 nil, // the target itself, never an environment proxy
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{RootCAs: o.roots, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   o.timeout,
		ResponseHeaderTimeout: o.timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
