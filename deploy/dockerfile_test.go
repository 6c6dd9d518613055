package deploy

import (
	"os"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// dockerBinary is where the Dockerfile puts the app in the final image.
const dockerBinary = "/usr/local/bin/sessionlab"

// instruction is one parsed Dockerfile line: its keyword, flags and words.
type instruction struct {
	cmd   string // lower case: from, run, user, ...
	flags []string
	args  []string
	json  bool // exec form (["a", "b"])
	line  string
}

// stage is a FROM and what follows it.
type stage struct {
	from         string
	name         string
	instructions []instruction
}

// parseDockerfile reads ../Dockerfile with BuildKit's own parser.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	f, err := os.Open("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := parser.Parse(f)
	if err != nil {
		t.Fatalf("the Dockerfile does not parse: %v", err)
	}
	var stages []stage
	for _, n := range res.AST.Children {
		in := instruction{cmd: strings.ToLower(n.Value), flags: n.Flags, line: n.Original, json: n.Attributes["json"]}
		for a := n.Next; a != nil; a = a.Next {
			in.args = append(in.args, a.Value)
		}
		if in.cmd == "from" {
			s := stage{from: in.args[0]}
			if len(in.args) == 3 && strings.EqualFold(in.args[1], "as") {
				s.name = in.args[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			continue // ARG before the first FROM
		}
		stages[len(stages)-1].instructions = append(stages[len(stages)-1].instructions, in)
	}
	return stages
}

func (s stage) all(cmd string) []instruction {
	var out []instruction
	for _, in := range s.instructions {
		if in.cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

// Multi-stage: a Go toolchain builds a static binary (CGO_ENABLED=0), and
// only that binary is copied into a minimal final image.
func TestDockerfile_MultiStageStaticBuildInAMinimalImage(t *testing.T) {
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stage(s), want a build stage and a final stage", len(stages))
	}
	build, final := stages[0], stages[len(stages)-1]
	if !strings.HasPrefix(build.from, "golang:") {
		t.Errorf("build stage FROM %q, want a golang image", build.from)
	}
	static := false
	for _, run := range build.all("run") {
		cmd := strings.Join(run.args, " ")
		if strings.Contains(cmd, "go build") && strings.Contains(cmd, "CGO_ENABLED=0") && strings.Contains(cmd, "./cmd/web") {
			static = true
		}
	}
	if !static {
		t.Error("no RUN builds ./cmd/web with CGO_ENABLED=0 (a static binary)")
	}
	if !strings.HasPrefix(final.from, "gcr.io/distroless/static") && final.from != "scratch" {
		t.Errorf("final stage FROM %q, want distroless/static or scratch (no shell, no package manager)", final.from)
	}
	copies := final.all("copy")
	if len(copies) != 1 || !containsFlag(copies[0].flags, "--from="+build.name) || copies[0].args[len(copies[0].args)-1] != dockerBinary {
		t.Errorf("the final stage copies %v, want only the binary from the build stage to %s", copies, dockerBinary)
	}
	if ep := final.all("entrypoint"); len(ep) != 1 || !ep[0].json || ep[0].args[0] != dockerBinary {
		t.Errorf("ENTRYPOINT %v, want [%q] in exec form", ep, dockerBinary)
	}
}

// The final image runs as a numeric non-root user (the Dockerfile's
// SECURITY(deployment) comment says why; a runtime that checks
// runAsNonRoot needs a number to verify).
func TestDockerfile_RunsAsANonRootUser(t *testing.T) {
	stages := parseDockerfile(t)
	final := stages[len(stages)-1]
	users := final.all("user")
	if len(users) == 0 {
		t.Fatal("no USER in the final stage: the app would run as root")
	}
	user := users[len(users)-1].args[0]
	uid, _, _ := strings.Cut(user, ":")
	if uid == "" || uid == "0" || uid == "root" || strings.Trim(uid, "0123456789") != "" {
		t.Errorf("USER %q, want a numeric non-root uid", user)
	}
	// Nothing after USER switches back.
	for _, in := range final.instructions {
		if in.cmd == "run" {
			t.Errorf("RUN in the final stage (%s): the image has no shell", in.line)
		}
	}
}

// The final image has no shell and no curl: the health check is the binary
// itself, in exec form.
func TestDockerfile_HealthCheckThroughTheBinary(t *testing.T) {
	stages := parseDockerfile(t)
	final := stages[len(stages)-1]
	hc := final.all("healthcheck")
	if len(hc) != 1 {
		t.Fatalf("%d HEALTHCHECK instructions in the final stage, want 1", len(hc))
	}
	// BuildKit's parser gives HEALTHCHECK's words as "CMD" followed by the
	// command; flags (--interval, ...) separately.
	args := hc[0].args
	if len(args) < 3 || !strings.EqualFold(args[0], "cmd") || args[1] != dockerBinary || args[2] != "healthcheck" {
		t.Errorf("HEALTHCHECK %q, want CMD [%q, \"healthcheck\"]", hc[0].line, dockerBinary)
	}
	for _, want := range []string{"--interval=", "--timeout="} {
		if !hasFlagPrefix(hc[0].flags, want) {
			t.Errorf("HEALTHCHECK without %s", want)
		}
	}
}

func containsFlag(flags []string, f string) bool {
	for _, g := range flags {
		if g == f {
			return true
		}
	}
	return false
}

func hasFlagPrefix(flags []string, p string) bool {
	for _, g := range flags {
		if strings.HasPrefix(g, p) {
			return true
		}
	}
	return false
}
