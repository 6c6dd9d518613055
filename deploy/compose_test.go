// Package deploy holds what runs Session Lab like production — the
// Caddyfile here, docker-compose.yml and the Dockerfile at the top level —
// and the tests that prove them without a container engine: the compose
// file through the Compose specification's own loader, the Dockerfile
// through BuildKit's parser, and the topology run as processes by the stack
// test (stack_test.go, `make stack`).
package deploy

import (
	"context"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"

	"github.com/sessionlab/sessionlab/internal/config"
)

const (
	composeFile = "../docker-compose.yml"
	caddyfile   = "Caddyfile" // deploy/Caddyfile
	// Markers for the two secrets: they must reach the services through
	// interpolation from the environment (.env), never from the file.
	pgPassword    = "pg-marker-7c1f0e"
	redisPassword = "redis-marker-3b9d2a"
)

// loadCompose loads docker-compose.yml with the Compose specification's own
// loader (schema validation, interpolation, normalisation) and env as the
// environment docker compose would read from .env.
func loadCompose(t *testing.T, env map[string]string) (*types.Project, error) {
	t.Helper()
	dir, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return loader.LoadWithContext(context.Background(), types.ConfigDetails{
		WorkingDir:  dir,
		ConfigFiles: []types.ConfigFile{{Filename: filepath.Join(dir, "docker-compose.yml")}},
		Environment: env,
	}, func(o *loader.Options) { o.SetProjectName("sessionlab", true) })
}

func secrets() map[string]string {
	return map[string]string{"POSTGRES_PASSWORD": pgPassword, "REDIS_PASSWORD": redisPassword}
}

func TestCompose_LoadsWithTheSpecificationsLoader(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatalf("docker-compose.yml does not load: %v", err)
	}
	want := []string{"app1", "app2", "caddy", "postgres", "redis"}
	if got := p.ServiceNames(); !slices.Equal(sortedCopy(got), want) {
		t.Errorf("services %v, want %v", got, want)
	}
}

// No secret is in the file: without the passwords the file refuses to
// load, naming the missing one, and with them each reaches its service
// from the environment.
func TestCompose_SecretsComeFromTheEnvironmentOnly(t *testing.T) {
	for _, missing := range []string{"POSTGRES_PASSWORD", "REDIS_PASSWORD"} {
		env := secrets()
		delete(env, missing)
		if _, err := loadCompose(t, env); err == nil || !strings.Contains(err.Error(), missing) {
			t.Errorf("loaded without %s (err %v): a default password would be a secret in the file", missing, err)
		}
	}
	raw, err := os.ReadFile(composeFile)
	if err != nil {
		t.Fatal(err)
	}
	// Credentials in URLs only as interpolations.
	for _, m := range regexp.MustCompile(`[a-z]+://[^\s"']*@`).FindAllString(string(raw), -1) {
		if !strings.Contains(m, "${") {
			t.Errorf("a URL with literal credentials in docker-compose.yml: %s", m)
		}
	}
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"app1", "app2"} {
		env := serviceEnv(t, p, name)
		if u, _ := url.Parse(env["DATABASE_URL"]); u == nil || mustPassword(u) != pgPassword {
			t.Errorf("%s: DATABASE_URL does not carry POSTGRES_PASSWORD from the environment", name)
		}
		if u, _ := url.Parse(env["REDIS_URL"]); u == nil || mustPassword(u) != redisPassword {
			t.Errorf("%s: REDIS_URL does not carry REDIS_PASSWORD from the environment", name)
		}
	}
	if serviceEnv(t, p, "postgres")["POSTGRES_PASSWORD"] != pgPassword {
		t.Error("postgres: POSTGRES_PASSWORD is not the one from the environment")
	}
	// .env.example documents every variable the file reads, and .env
	// itself is never committed.
	example, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile(`\$\{([A-Z_0-9]+)`).FindAllStringSubmatch(string(raw), -1) {
		if !regexp.MustCompile(`(?m)^` + m[1] + `=`).Match(example) {
			t.Errorf(".env.example does not document %s", m[1])
		}
	}
	gitignore, err := os.ReadFile("../.gitignore")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^/?\.env$`).Match(gitignore) {
		t.Error(".env is not in .gitignore")
	}
}

// Two replicas of the repo's image, both on the compose Redis and
// PostgreSQL, with a configuration the app itself accepts.
func TestCompose_TwoReplicasOnTheSharedRedisAndPostgres(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	var replicas []string
	for name, s := range p.Services {
		if s.Build != nil && filepath.Clean(s.Build.Context) == filepath.Clean(p.WorkingDir) {
			replicas = append(replicas, name)
		}
	}
	slices.Sort(replicas)
	if !slices.Equal(replicas, []string{"app1", "app2"}) {
		t.Fatalf("services built from the repo's Dockerfile: %v, want app1 and app2", replicas)
	}
	for _, name := range replicas {
		env := serviceEnv(t, p, name)
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Errorf("%s: the app refuses its environment: %v", name, err)
			continue
		}
		db, _ := url.Parse(cfg.DatabaseURL)
		if dialect, _ := cfg.Database(); dialect != "postgres" || db.Hostname() != "postgres" {
			t.Errorf("%s: DATABASE_URL points at %s %q, want the postgres service", name, dialect, db.Hostname())
		}
		rd, _ := url.Parse(cfg.RedisURL)
		if rd.Hostname() != "redis" {
			t.Errorf("%s: REDIS_URL points at %q, want the redis service", name, rd.Hostname())
		}
		for dep, svc := range map[string]string{"redis": "redis", "postgres": "postgres"} {
			if _, ok := p.Services[svc]; !ok {
				t.Errorf("no %s service", svc)
			}
			if d, ok := p.Services[name].DependsOn[dep]; !ok || d.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s does not wait for %s to be healthy (depends_on %+v)", name, dep, p.Services[name].DependsOn)
			}
		}
		if cfg.ShutdownDelay == 0 {
			t.Errorf("%s: no SHUTDOWN_DELAY, so Caddy could send requests to a replica whose port is closing", name)
		}
	}
	if a, b := p.Services["app1"], p.Services["app2"]; a.Image != b.Image {
		t.Errorf("the replicas run different images: %q and %q", a.Image, b.Image)
	}
}

// The replicas believe X-Forwarded-For from Caddy alone: TRUSTED_PROXIES
// is Caddy's fixed address on the compose network.
func TestCompose_TrustedProxiesIsCaddyOnTheComposeNetwork(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	caddy := p.Services["caddy"]
	var caddyAddr netip.Addr
	var network string
	for name, n := range caddy.Networks {
		if n != nil && n.Ipv4Address != "" {
			caddyAddr, network = netip.MustParseAddr(n.Ipv4Address), name
		}
	}
	if !caddyAddr.IsValid() {
		t.Fatal("caddy has no fixed address on a compose network")
	}
	var subnet netip.Prefix
	for _, pool := range p.Networks[network].Ipam.Config {
		subnet = netip.MustParsePrefix(pool.Subnet)
	}
	if !subnet.Contains(caddyAddr) {
		t.Fatalf("caddy's %s is not in network %s's subnet %s", caddyAddr, network, subnet)
	}
	if !p.Networks[network].Internal {
		t.Errorf("network %s is not internal: the replicas, Redis and PostgreSQL would have a route out", network)
	}
	for _, name := range []string{"app1", "app2"} {
		env := serviceEnv(t, p, name)
		cfg, err := config.Load(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.TrustedProxies) != 1 || cfg.TrustedProxies[0] != netip.PrefixFrom(caddyAddr, 32) {
			t.Errorf("%s: TRUSTED_PROXIES %v, want exactly caddy's %s", name, cfg.TrustedProxies, caddyAddr)
		}
		if _, ok := p.Services[name].Networks[network]; !ok {
			t.Errorf("%s is not on %s, where caddy reaches it", name, network)
		}
		if len(p.Services[name].Ports) > 0 {
			t.Errorf("%s publishes ports: clients must come through caddy", name)
		}
	}
}

// Caddy mounts the repo's Caddyfile — the one the stack test runs — and
// points it at both replicas on the port they listen on.
func TestCompose_CaddyRunsTheRepoCaddyfileInFrontOfBothReplicas(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	caddy := p.Services["caddy"]
	mounted := false
	for _, v := range caddy.Volumes {
		if v.Type == types.VolumeTypeBind && v.Target == "/etc/caddy/Caddyfile" {
			abs, _ := filepath.Abs(caddyfile)
			mounted = filepath.Clean(v.Source) == abs
		}
	}
	if !mounted {
		t.Errorf("caddy does not mount deploy/Caddyfile at /etc/caddy/Caddyfile: %+v", caddy.Volumes)
	}
	env := serviceEnv(t, p, "caddy")
	for i, app := range []string{"app1", "app2"} {
		appEnv := serviceEnv(t, p, app)
		_, port, _ := strings.Cut(appEnv["ADDR"], ":")
		if got, want := env["UPSTREAM_"+string(rune('1'+i))], app+":"+port; got != want {
			t.Errorf("caddy UPSTREAM_%d = %q, want %q", i+1, got, want)
		}
		if d, ok := caddy.DependsOn[app]; !ok || d.Condition != types.ServiceConditionHealthy {
			t.Errorf("caddy does not wait for %s to be healthy", app)
		}
	}
	cf, err := os.ReadFile(caddyfile)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tls internal", "{$UPSTREAM_1", "{$UPSTREAM_2", "health_uri /healthz"} {
		if !strings.Contains(string(cf), want) {
			t.Errorf("the Caddyfile lacks %q", want)
		}
	}
	published := map[uint32]bool{}
	for _, port := range caddy.Ports {
		published[port.Target] = true
	}
	if !published[443] {
		t.Errorf("caddy does not publish 443: %+v", caddy.Ports)
	}
}

// Sessions survive a Redis restart: append-only persistence on a volume.
// The users survive too: PostgreSQL's data directory is a volume.
func TestCompose_RedisAppendOnlyAndPostgresOnVolumes(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	redis := p.Services["redis"]
	cmd := strings.Join(redis.Command, " ")
	if !regexp.MustCompile(`--appendonly\s+yes`).MatchString(cmd) {
		t.Errorf("redis runs without --appendonly yes: %q", cmd)
	}
	if !strings.Contains(cmd, "--requirepass") {
		t.Errorf("redis runs without a password: %q", cmd)
	}
	if !hasVolume(redis, "/data") {
		t.Errorf("redis keeps /data (its AOF) on no volume: %+v", redis.Volumes)
	}
	if !hasVolume(p.Services["postgres"], "/var/lib/postgresql/data") {
		t.Errorf("postgres keeps its data directory on no volume: %+v", p.Services["postgres"].Volumes)
	}
}

func TestCompose_EveryServiceHasAHealthCheck(t *testing.T) {
	p, err := loadCompose(t, secrets())
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range p.Services {
		if s.HealthCheck == nil || s.HealthCheck.Disable || len(s.HealthCheck.Test) < 2 || s.HealthCheck.Test[0] == "NONE" {
			t.Errorf("%s has no health check: %+v", name, s.HealthCheck)
		}
	}
	for _, name := range []string{"app1", "app2"} {
		if got := p.Services[name].HealthCheck.Test; !slices.Equal(got, []string{"CMD", dockerBinary, "healthcheck"}) {
			t.Errorf("%s health check %v, want the binary's own healthcheck command", name, got)
		}
	}
}

func serviceEnv(t *testing.T, p *types.Project, name string) map[string]string {
	t.Helper()
	s, ok := p.Services[name]
	if !ok {
		t.Fatalf("no service %s", name)
	}
	env := map[string]string{}
	for k, v := range s.Environment {
		if v != nil {
			env[k] = *v
		}
	}
	return env
}

func hasVolume(s types.ServiceConfig, target string) bool {
	for _, v := range s.Volumes {
		if v.Type == types.VolumeTypeVolume && v.Target == target {
			return true
		}
	}
	return false
}

func mustPassword(u *url.URL) string {
	p, _ := u.User.Password()
	return p
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}
