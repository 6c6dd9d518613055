package config

import (
	"bufio"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// envName is the shape of an environment variable's name.
var envName = regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`)

// A fork copies .env.example to learn what it can set: it lists every
// variable this package reads, each with the value Load would use anyway,
// and nothing that neither the app nor docker-compose.yml reads.
func TestEnvExample_ListsEveryVariableLoadReadsWithItsDefault(t *testing.T) {
	read := variablesRead(t)
	documented := envExample(t, "../../.env.example")

	for _, name := range read {
		if _, ok := documented[name]; !ok {
			t.Errorf(".env.example does not list %s, which config.Load reads", name)
		}
	}

	compose, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	def, err := Load(env{}.get)
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range documented {
		if !slices.Contains(read, name) {
			if !strings.Contains(string(compose), "${"+name) {
				t.Errorf(".env.example lists %s, which neither config.Load nor docker-compose.yml reads", name)
			}
			continue
		}
		if value == "" {
			continue // empty is the default by definition
		}
		got, err := Load(env{name: value}.get)
		if err != nil {
			t.Errorf(".env.example: %s=%s is refused: %v", name, value, err)
			continue
		}
		if !reflect.DeepEqual(got, def) {
			t.Errorf(".env.example: %s=%s is not the default", name, value)
		}
	}
}

// variablesRead parses this package's Go files (not its tests) and returns
// each name given as a string literal to a getenv call or as the first
// argument of a call such as l.value("ADDR") or l.duration(...).
func variablesRead(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) == 0 {
				return true
			}
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			name, err := strconv.Unquote(lit.Value)
			if err == nil && envName.MatchString(name) && !slices.Contains(names, name) {
				names = append(names, name)
			}
			return true
		})
	}
	// The parse must see the variables, or the test above proves nothing.
	for _, want := range []string{"ADDR", "DATABASE_URL", "SESSION_IDLE_TIMEOUT", "TRUSTED_PROXIES", "REQUEST_TIMEOUT", "LAB_ATTACKER_ADDR"} {
		if !slices.Contains(names, want) {
			t.Fatalf("parsing the package found %v, not %s: the parse no longer sees how Load reads variables", names, want)
		}
	}
	return names
}

// envExample returns the variables of an .env file: NAME=value lines, and
// "# NAME=value" lines that show a default without setting it.
func envExample(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimPrefix(sc.Text(), "# ")
		name, value, ok := strings.Cut(line, "=")
		if !ok || !envName.MatchString(name) {
			continue
		}
		if _, dup := vars[name]; dup {
			t.Errorf("%s lists %s twice", path, name)
		}
		vars[name] = value
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return vars
}
