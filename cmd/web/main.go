// Command web runs Session Lab.
//
//	web              serve HTTP (or HTTPS with TLS_CERT/TLS_KEY)
//	web migrate      apply the database migrations and exit
//	web healthcheck  ask the server this environment starts for /healthz; exit 0 only on 200
//	web bcrypt-worker  (started by the server itself) hash and check passwords sent on stdin
//
// Configuration comes from the environment; see the README.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// The first SIGINT (Ctrl-C) or SIGTERM starts a graceful shutdown, after
	// which run returns nil and the process exits 0. From then on the
	// signals are no longer caught: a second Ctrl-C ends it at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "sessionlab: %v\n", err)
		os.Exit(1)
	}
}
