package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"github.com/sessionlab/sessionlab/internal/assembly"
	"github.com/sessionlab/sessionlab/internal/auth"
	"github.com/sessionlab/sessionlab/internal/config"
	"github.com/sessionlab/sessionlab/internal/lab/attacker"
)

// aeadSuites are the TLS 1.2 suites offered: ECDHE key exchange (forward
// secrecy) with an AEAD cipher only. TLS 1.3 suites are all AEAD and not
// configurable; Go chooses among them.
//
// SECURITY(tls): no CBC suites and no SHA-1 MACs (Lucky13-style padding
// oracles, weak MAC) — ASVS 5.0 12.1.2.
var aeadSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// shutdownGrace is how long requests in flight get to finish after
// SIGINT/SIGTERM.
const shutdownGrace = 15 * time.Second

// run is the whole program; main only calls it, so tests can start the
// real thing with their own arguments and environment.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) (err error) {
	if len(args) > 1 && args[1] == auth.WorkerCommand {
		// A bcrypt worker this program started (auth.Workers): it answers
		// on the pipes it was given, and needs no configuration.
		return auth.ServeWorker(auth.WorkerFiles())
	}
	cfg, err := config.Load(getenv)
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	command := ""
	if len(args) > 1 {
		command = args[1]
	}
	switch command {
	case "healthcheck":
		// Before the database opens: a probe must not run migrations.
		return healthcheck(ctx, cfg, stdout)
	case "", "migrate":
	default:
		return fmt.Errorf("unknown command %q (want no command, \"migrate\" or \"healthcheck\")", command)
	}
	logger := newLogger(cfg.LogFormat, cfg.LogLevel, stdout)
	for _, w := range cfg.Warnings {
		logger.Warn(w)
	}

	if command == "migrate" {
		db, applied, err := assembly.OpenDatabase(ctx, cfg)
		if err != nil {
			return err
		}
		defer db.Close()
		if len(applied) > 0 {
			logger.Info("migrations applied", "dialect", db.Dialect, "migrations", applied)
		}
		fmt.Fprintf(stdout, "database is up to date (%d migration(s) applied now)\n", len(applied))
		return nil
	}

	self, err := auth.SelfCommand()
	if err != nil {
		return err
	}
	app, err := assembly.New(ctx, cfg, logger, assembly.HashWorkerCommand(self))
	if err != nil {
		return err
	}
	defer func() {
		if closeErr := app.Close(); closeErr != nil && err == nil {
			err = fmt.Errorf("close: %w", closeErr)
		}
	}()
	return serve(ctx, app, logger, stdout)
}

func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// serveLab starts the attack lab's other site on LAB_ATTACKER_ADDR.
func serveLab(cfg config.Config, lab *attacker.Site, appURL, appDial string, logger *slog.Logger, errc chan<- error) (*http.Server, error) {
	lab.SetApp(appURL, appDial)
	ln, err := net.Listen("tcp", cfg.LabAttackerAddr)
	if err != nil {
		return nil, fmt.Errorf("listen on LAB_ATTACKER_ADDR %s: %w", cfg.LabAttackerAddr, err)
	}
	srv := &http.Server{
		Handler:           lab.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	lab.SetURL("http://" + ln.Addr().String())
	logger.Warn("attack lab on: the attacker's site (another site than the app) — never deploy with LAB_ATTACKER_ADDR set",
		"url", "http://"+ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("attack lab: %w", err)
		}
	}()
	return srv, nil
}

// serve listens until ctx is cancelled, then shuts down gracefully: the
// listener closes at once and requests in flight get shutdownGrace.
func serve(ctx context.Context, app *assembly.App, logger *slog.Logger, stdout io.Writer) error {
	cfg := app.Config
	srv := &http.Server{
		Handler: app.Handler,
		// SECURITY(dos): bounded header, body and idle times stop slow
		// clients from holding connections open — ASVS 5.0 15.2.2.
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		// SECURITY(tls): TLS 1.2 at least (1.0 and 1.1 are deprecated by
		// RFC 8996), stated here rather than left to Go's default, which a
		// GODEBUG setting can lower; TLS 1.2 only with the AEAD suites
		// above — ASVS 5.0 12.1.1, 12.1.2.
		TLSConfig: &tls.Config{MinVersion: tls.VersionTLS12, CipherSuites: aeadSuites},
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	// At most MAX_CONNECTIONS connections open at once (config.go says why).
	ln = netutil.LimitListener(ln, cfg.MaxConnections)
	scheme := "http"
	if cfg.TLS() {
		scheme = "https"
	}
	// Show the URL with the configured host name: browsers treat
	// http://localhost as a secure context, which the Secure cookie needs.
	display := ln.Addr().String()
	if host, _, err := net.SplitHostPort(cfg.Addr); err == nil && host == "localhost" {
		_, port, _ := net.SplitHostPort(display)
		display = net.JoinHostPort(host, port)
	}
	announce(app, scheme+"://"+display, logger, stdout)
	logger.Info("listening", "addr", ln.Addr().String(), "url", scheme+"://"+display)

	errc := make(chan error, 2)
	if app.Lab != nil {
		labSrv, err := serveLab(cfg, app.Lab, scheme+"://"+display, ln.Addr().String(), logger, errc)
		if err != nil {
			ln.Close()
			return err
		}
		defer labSrv.Close()
	}
	go func() {
		if cfg.TLS() {
			errc <- srv.ServeTLS(ln, cfg.TLSCert, cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if cfg.ShutdownDelay > 0 {
		// /healthz answers 503 from now on, while everything else is still
		// served: a proxy's health check takes this process out of rotation
		// before its listener closes, so no request is sent to a closed port.
		app.ReportStopping()
		logger.Info("stopping: /healthz reports it; still serving", "delay", cfg.ShutdownDelay.String())
		select {
		case <-time.After(cfg.ShutdownDelay):
		case err := <-errc:
			return fmt.Errorf("serve: %w", err)
		}
	}
	logger.Info("shutting down", "grace", shutdownGrace.String())
	// A fresh context: the one that triggered shutdown is already cancelled.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// announce writes the line a person who started the app reads first: where
// it is and the session settings in force. With LOG_FORMAT=text (the
// default, a terminal) it is a plain line on stdout; with json, a log
// record whose message is the same sentence, with the values as fields.
func announce(app *assembly.App, url string, logger *slog.Logger, stdout io.Writer) {
	cfg := app.Config
	line := fmt.Sprintf("Session Lab on %s — store %s, idle %s, lifetime %s, IP binding %s",
		url, app.Store.Kind, config.ShortDuration(cfg.IdleTimeout), config.ShortDuration(cfg.Lifetime), cfg.IPBinding)
	if cfg.LogFormat != "json" {
		fmt.Fprintln(stdout, line)
		return
	}
	logger.Info(line, "url", url, "store", app.Store.Kind, "idle_timeout", config.ShortDuration(cfg.IdleTimeout),
		"lifetime", config.ShortDuration(cfg.Lifetime), "ip_binding", string(cfg.IPBinding))
}
