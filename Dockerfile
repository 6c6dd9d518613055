# syntax=docker/dockerfile:1
#
# Session Lab's production image: a static binary (no cgo: the SQLite driver
# is pure Go) in distroless/static, run as a non-root user, checked by the
# binary itself since the image has no shell and no curl.
#
# Build:  docker build -t sessionlab .
# Run:    docker compose up   (docker-compose.yml: two replicas behind Caddy)

ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
# Dependencies first, so a source change does not download them again.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same build as the stack test's (deploy/stack_test.go, `make stack`).
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o /out/sessionlab ./cmd/web

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sessionlab /usr/local/bin/sessionlab
# SECURITY(deployment): the process runs as a non-root user (distroless
# "nonroot", uid 65532) that owns nothing but its home, so a compromise
# cannot rewrite the binary — CIS Docker Benchmark 4.1.
USER 65532:65532
# The default SQLite database (data/sessionlab.db) lands in the user's home
# when no DATABASE_URL is given; docker-compose.yml gives PostgreSQL.
WORKDIR /home/nonroot
ENV ADDR=:8080 \
    LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/sessionlab", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/sessionlab"]
