# Session Lab — the commands the README documents. CI runs them too (.ci/run).
# `make help` lists the targets with the `## target: what it does` lines below.

GO            ?= go
BIN           ?= bin/sessionlab
CONTRAST_BIN  ?= bin/sessionlab-contrast

# `make` alone builds and starts the app, like `make run`.
.DEFAULT_GOAL := run

.PHONY: help run demo demo-insecure contrast test sessioncheck migrate lint build build-contrast cert e2e bench fuzz soak stack rename

# The environment of `make demo` and `make demo-insecure`.
DEMO_ENV = ADDR=localhost:8080 LAB_ATTACKER_ADDR=127.0.0.1:8081 SESSION_IDLE_TIMEOUT=2m SESSION_LIFETIME=10m

# run-binary runs a built binary ($(1), with any VAR=value before it) in the
# foreground. Ctrl-C sends SIGINT to the whole process group: the app shuts
# down and exits 0, and the shell, which traps the signal instead of dying
# of it, waits for it. A binary ended by SIGINT or SIGTERM (130, 143) is a
# stop, not a failure, so make prints no "Error" line; any other non-zero
# exit is passed on.
define run-binary
trap : INT TERM; $(1); s=$$?; \
case $$s in 130) echo "stopped (SIGINT)"; exit 0;; 143) echo "stopped (SIGTERM)"; exit 0;; esac; exit $$s
endef

## help: list the targets with what each one does
help:
	@echo "make TARGET (make alone: make run)"
	@awk '/^## [a-z][a-z0-9-]*:/ { t = $$2; sub(/:$$/, "", t); sub(/^## [^:]*: */, ""); printf "  %-15s %s\n", t, $$0; more = 1; next } \
		more && /^## / { sub(/^## */, ""); printf "  %-15s %s\n", "", $$0; next } { more = 0 }' $(firstword $(MAKEFILE_LIST))

## run: build bin/sessionlab and start it on its embedded default (SQLite, no Redis) at http://localhost:8080;
## Ctrl-C stops it gracefully
run: build
	@$(call run-binary,./$(BIN))

## demo: the app with the attack lab on: the attacker's site at http://127.0.0.1:8081 (another site
## than http://localhost:8080), idle timeout 2m, lifetime 10m. For a classroom, never for a deployment.
demo: build
	@$(call run-binary,$(DEMO_ENV) ./$(BIN))

## demo-insecure: the contrast build (build tag "contrast", bin/sessionlab-contrast): like demo, plus
## /lab/defences to switch single defences off and watch the same attacks succeed; a red banner on
## every page. NEVER deploy it.
demo-insecure: build-contrast
	@$(call run-binary,$(DEMO_ENV) ./$(CONTRAST_BIN))

## contrast: the contrast build's tests: each lab attack succeeds once its single defence is off
contrast:
	$(GO) vet -tags contrast ./...
	$(GO) test -tags contrast -race -count=1 -v -run '^TestContrast_' ./cmd/web

## test: every test, with the race detector, against the real stores (TESTFLAGS=-v for detail)
test:
	@skips=$$(mktemp) || exit 1; trap 'rm -f "$$skips"' EXIT; trap 'exit 130' INT TERM; \
	echo "$(GO) test -race -count=1 $(TESTFLAGS) ./..."; \
	TESTENV_SKIPS="$$skips" $(GO) test -race -count=1 $(TESTFLAGS) ./...; status=$$?; \
	awk -F '\t' '!seen[$$0]++ { if ($$1 == "skip") s = s (s == "" ? "" : ", ") $$2 " (" $$3 ")"; else print $$2 ": " $$3 } \
		END { if (s != "") print "skipped: " s }' "$$skips"; \
	exit $$status

## e2e: the browser tests (e2e/, build tag e2e) in Chromium at /usr/bin/chromium, on SQLite and Redis;
## a failed test leaves its screenshot, page HTML and server log under $(E2E_ARTIFACTS)
E2E_ARTIFACTS ?= $(or $(TMPDIR),/tmp)/sessionlab-e2e
e2e:
	$(GO) vet -tags e2e ./e2e/...
	@mkdir -p $(E2E_ARTIFACTS)
	$(GO) test -tags e2e -race -count=1 -v -artifacts -outputdir=$(E2E_ARTIFACTS) ./e2e/...

## stack: docker-compose.yml's topology run as processes (no container engine needed): redis-server
## with append-only persistence, a fresh database on the local PostgreSQL, two replicas built as the
## Dockerfile builds them, and Caddy with deploy/Caddyfile in front (needs caddy and redis-server)
stack:
	$(GO) vet -tags stack ./deploy
	$(GO) test -tags stack -count=1 -v -run '^TestStack$$' ./deploy

## sessioncheck: the verifier's own proof — every check passes against the real app (SQLite over TLS, Redis),
## every opt-in on, and each check fails against a variant without its protection (make test runs it too)
sessioncheck:
	$(GO) test -race -count=1 -v -run '^(TestRealApp_EveryCheckPasses|TestEachCheckFailsWhenItsProtectionIsRemoved)$$' ./cmd/sessioncheck

## bench: side-by-side load test — bare chi page, chi+scs+stock redisstore, Session Lab —
## written to docs/BENCHMARKS.md (needs redis-server and taskset; about 5 minutes),
## then the login-timing benchmark (go test -bench)
BENCHFLAGS ?= -rounds 5 -duration 5s
bench:
	$(GO) run ./cmd/bench $(BENCHFLAGS) -out docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchtime 3s ./internal/server

## fuzz: each fuzz target for FUZZTIME (default 30000x: 30,000 inputs, a few seconds each); a crash's
## input is kept under the package's testdata/fuzz/ and from then on runs with every `make test`
# A count, not a duration: with a duration Go 1.26's fuzzing coordinator can fail a clean run with
# "context deadline exceeded" when the time runs out mid-input (go.dev/issue/75804, fixed in Go 1.27).
FUZZTIME ?= 30000x
FUZZ_TARGETS = ./internal/server:FuzzSafeNext ./internal/server:FuzzCheckEmail ./internal/auth:FuzzValidateNew \
	./internal/security:FuzzClientIP ./internal/session:FuzzCodecDecode ./internal/config:FuzzLoad
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "fuzz $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) $$pkg; \
	done

## soak: a bounded mixed load for SOAKFLAGS (default 10 minutes), sampled every 30 s;
## fails on any 5xx, growth past its bounds or a Redis key without a TTL; writes docs/RELIABILITY.md
SOAKFLAGS ?= -duration 10m
soak:
	$(GO) run ./cmd/bench soak $(SOAKFLAGS) -out docs/RELIABILITY.md

## migrate: apply the database migrations (they also run at start-up)
migrate:
	$(GO) run ./cmd/web migrate

## cert: a self-signed development certificate for localhost in certs/ (gitignored)
cert:
	$(GO) run ./cmd/devcert -dir certs

## lint: gofmt, go vet and staticcheck (a tool in go.mod: `go tool staticcheck`, offline once modules are downloaded)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

## build: the app as a single binary, bin/sessionlab
build:
	@echo "building… $(BIN) (the first build takes a minute or two, later ones are quick)"
	@$(GO) build -o $(BIN) ./cmd/web

## build-contrast: the contrast build (build tag "contrast") as bin/sessionlab-contrast, never bin/sessionlab
build-contrast:
	@echo "building… $(CONTRAST_BIN) (build tag contrast: the attack lab's switches; never deploy it)"
	@$(GO) build -tags contrast -o $(CONTRAST_BIN) ./cmd/web

## rename: give a fork its own module path, e.g. make rename MODULE=example.com/you/app: go.mod's
## module line and every file naming the old path (imports included), then go build ./...
rename:
	@if [ -z "$(MODULE)" ]; then echo "usage: make rename MODULE=example.com/you/app" >&2; exit 2; fi
	$(GO) run ./cmd/rename -module '$(MODULE)'
	$(GO) build ./...
