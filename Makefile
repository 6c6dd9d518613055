# Session Lab — the commands the README documents. CI runs them too (.ci/run).

GO            ?= go
STATICCHECK   ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run demo demo-insecure contrast test sessioncheck migrate lint build cert e2e bench fuzz soak stack

## run: start the app on its embedded default (SQLite, no Redis) at http://localhost:8080
run:
	$(GO) run ./cmd/web

## demo: the app with the attack lab on: the attacker's site at http://127.0.0.1:8081 (another site
## than http://localhost:8080), idle timeout 2m, lifetime 10m. For a classroom, never for a deployment.
demo:
	ADDR=localhost:8080 LAB_ATTACKER_ADDR=127.0.0.1:8081 SESSION_IDLE_TIMEOUT=2m SESSION_LIFETIME=10m $(GO) run ./cmd/web

## demo-insecure: the contrast build (build tag "contrast"): like demo, plus /lab/defences to switch single
## defences off and watch the same attacks succeed; a red banner on every page. NEVER deploy it.
demo-insecure:
	ADDR=localhost:8080 LAB_ATTACKER_ADDR=127.0.0.1:8081 SESSION_IDLE_TIMEOUT=2m SESSION_LIFETIME=10m $(GO) run -tags contrast ./cmd/web

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

## fuzz: each fuzz target for FUZZTIME (default 10s); a crash's input is kept under
## the package's testdata/fuzz/ and from then on runs with every `make test`
FUZZTIME ?= 10s
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

## lint: gofmt, go vet and staticcheck
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

## build: a single binary in bin/
build:
	$(GO) build -o bin/sessionlab ./cmd/web
