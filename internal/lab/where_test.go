package lab

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// repoRoot is the module's root, seen from this package's directory.
const repoRoot = "../.."

// pendingRetag lists tags still waiting for their practice slug in files
// this change could not edit (path → old tag → new tag). Remove an entry
// once the file uses the new tag; the test fails on a stale entry.
var pendingRetag = map[string]map[string]string{}

// Every SECURITY(topic) comment names a practice page by its slug, or one
// of the few topics no page covers; docs/SECURITY.md lists both, one row
// per topic.
func TestSecurityTags_NameAPracticeSlug(t *testing.T) {
	slugs := map[string]bool{}
	for _, p := range Practices {
		slugs[p.Slug] = true
	}
	rows := securityDocRows(t)
	topics := map[string]bool{}
	for topic, row := range rows {
		topics[topic] = true
		switch {
		case slugs[topic] && row.page != "/practices/"+topic:
			t.Errorf("docs/SECURITY.md: %q is a practice: its row must name /practices/%s", topic, topic)
		case !slugs[topic] && row.page != "":
			t.Errorf("docs/SECURITY.md: %q has no practice page, but its row names %q", topic, row.page)
		}
	}
	used := map[string]int{}
	pendingSeen := map[string]bool{}
	for _, c := range securityComments(t) {
		used[c.topic]++
		switch {
		case topics[c.topic]:
		case pendingRetag[c.file][c.topic] != "":
			pendingSeen[c.file+" "+c.topic] = true
		default:
			t.Errorf("%s: SECURITY(%s) names no topic of docs/SECURITY.md (%s): use the slug of the practice page that explains it or, if no page does, add a row there",
				c.where, c.topic, strings.Join(sortedKeys(topics), ", "))
		}
	}
	for file, tags := range pendingRetag {
		for old, new := range tags {
			if !pendingSeen[file+" "+old] {
				t.Errorf("pendingRetag: %s no longer has SECURITY(%s) (now %s?): remove the entry", file, old, new)
			}
		}
	}
	for topic := range topics {
		if used[topic] == 0 {
			t.Errorf("docs/SECURITY.md has a row for %q, which no SECURITY comment uses: remove it", topic)
		}
	}
	if used["fixation"] == 0 || used["csrf"] == 0 {
		t.Errorf("found no SECURITY(fixation) or SECURITY(csrf) comment: is the comment parsing wrong? Topics seen: %v", used)
	}
}

// commentLines returns a comment's text lines without the comment markers.
func commentLines(text string) []string {
	if strings.HasPrefix(text, "//") {
		return []string{text[2:]}
	}
	text = strings.TrimSuffix(strings.TrimPrefix(text, "/*"), "*/")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimPrefix(strings.TrimSpace(l), "*")
	}
	return lines
}

// goFiles lists the repository's Go files, skipping hidden directories,
// testdata and vendor.
func goFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != repoRoot && (strings.HasPrefix(name, ".") || name == "testdata" || name == "vendor" || name == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A "Where in the code" reference, as the practice pages write them:
//
//	internal/session/manager.go Manager.Login, Manager.Reauthenticated
//	internal/session/manager.go Manager.Revoke, RevokeOthers, Login
//	internal/security/headers.go, csp.go, hsts.go
//	internal/session/manager.go NewManager (IdleTimeout, Lifetime)
//	internal/config (SESSION_IDLE_TIMEOUT, SESSION_LIFETIME)
//	internal/server/routes.go (dynamic tier)
//
// A path (a file, or a package directory), more files of the same
// directory, then declarations: Type.Method, or a bare name — a function,
// type, variable, constant or method; after Type.Method a bare name is
// another method of that type. A parenthesis of single words names
// identifiers or string constants the code must contain; one with spaces
// is prose.
type whereRef struct {
	paths    []string // relative to the repository's root
	names    []string // "Manager.Login", "NewManager"
	mentions []string // "IdleTimeout", "SESSION_IDLE_TIMEOUT", "no-store"
}

var goName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func parseWhere(s string) (whereRef, error) {
	var ref whereRef
	rest := strings.TrimSpace(s)
	if i := strings.Index(rest, " ("); i >= 0 {
		note := rest[i+1:]
		rest = rest[:i]
		if !strings.HasSuffix(note, ")") || strings.Count(note, "(") != 1 {
			return ref, fmt.Errorf("a parenthesis must close the reference: %q", note)
		}
		note = strings.TrimSuffix(strings.TrimPrefix(note, "("), ")")
		if parts := strings.Split(note, ", "); !strings.Contains(strings.Join(parts, ""), " ") {
			ref.mentions = parts
		}
	} else if strings.HasPrefix(rest, "(") {
		return ref, fmt.Errorf("no path before the parenthesis")
	}
	if rest == "" {
		return ref, fmt.Errorf("no path")
	}
	first, tail, _ := strings.Cut(rest, " ")
	first = strings.TrimSuffix(first, ",")
	if strings.HasPrefix(first, "/") || strings.Contains(first, "..") {
		return ref, fmt.Errorf("path %q must be relative to the repository's root", first)
	}
	ref.paths = []string{first}
	recv := ""
	for _, tok := range strings.FieldsFunc(tail, func(r rune) bool { return r == ' ' || r == ',' }) {
		switch {
		case strings.HasSuffix(tok, ".go") && !strings.Contains(tok, "/"):
			if len(ref.names) > 0 {
				return ref, fmt.Errorf("file %s after declarations", tok)
			}
			ref.paths = append(ref.paths, filepath.ToSlash(filepath.Join(filepath.Dir(first), tok)))
		case goName.MatchString(tok):
			if r, _, ok := strings.Cut(tok, "."); ok {
				recv = r
			} else if recv != "" {
				tok = recv + "." + tok
			}
			ref.names = append(ref.names, tok)
		default:
			return ref, fmt.Errorf("cannot read %q: want a file of the same directory, Type.Method or a name", tok)
		}
	}
	if len(ref.paths) > 1 && !strings.HasSuffix(first, ".go") {
		return ref, fmt.Errorf("files after a directory")
	}
	return ref, nil
}

// goSource is what a file or package declares and mentions.
type goSource struct {
	decls    map[string]bool // "Name" (top level or any method), "Type.Method"
	idents   map[string]bool
	literals []string
}

func loadSource(t *testing.T, fset *token.FileSet, path string) (*goSource, error) {
	t.Helper()
	full := filepath.Join(repoRoot, filepath.FromSlash(path))
	info, err := os.Stat(full)
	if err != nil {
		return nil, err
	}
	files := []string{full}
	if info.IsDir() {
		files, _ = filepath.Glob(filepath.Join(full, "*.go"))
		files = slicesDelete(files, func(f string) bool { return strings.HasSuffix(f, "_test.go") })
		if len(files) == 0 {
			return nil, fmt.Errorf("directory %s holds no Go files", path)
		}
	} else if !strings.HasSuffix(path, ".go") {
		return nil, fmt.Errorf("%s is not a Go file", path)
	}
	src := &goSource{decls: map[string]bool{}, idents: map[string]bool{}}
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			switch d := d.(type) {
			case *ast.FuncDecl:
				src.decls[d.Name.Name] = true
				if d.Recv != nil && len(d.Recv.List) == 1 {
					src.decls[receiverType(d.Recv.List[0].Type)+"."+d.Name.Name] = true
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						src.decls[s.Name.Name] = true
					case *ast.ValueSpec:
						for _, n := range s.Names {
							src.decls[n.Name] = true
						}
					}
				}
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.Ident:
				src.idents[n.Name] = true
			case *ast.BasicLit:
				if n.Kind == token.STRING {
					if s, err := strconv.Unquote(n.Value); err == nil {
						src.literals = append(src.literals, s)
					}
				}
			}
			return true
		})
	}
	return src, nil
}

// receiverType is T for a receiver of type T, *T, T[P] or *T[P].
func receiverType(e ast.Expr) string {
	for {
		switch x := e.(type) {
		case *ast.StarExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.IndexListExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		case *ast.Ident:
			return x.Name
		default:
			return fmt.Sprintf("%T", e)
		}
	}
}

func (s *goSource) mentions(word string) bool {
	if s.idents[word] {
		return true
	}
	for _, l := range s.literals {
		if strings.Contains(l, word) {
			return true
		}
	}
	return false
}

func slicesDelete(s []string, del func(string) bool) []string {
	out := s[:0]
	for _, v := range s {
		if !del(v) {
			out = append(out, v)
		}
	}
	return out
}

// Every "Where in the code" reference names files that exist and
// functions, methods and types those files declare.
func TestPractices_WhereNamesCodeThatExists(t *testing.T) {
	fset := token.NewFileSet()
	cache := map[string]*goSource{}
	load := func(path string) (*goSource, error) {
		if s, ok := cache[path]; ok {
			return s, nil
		}
		s, err := loadSource(t, fset, path)
		if err == nil {
			cache[path] = s
		}
		return s, err
	}
	checked := 0
	for _, p := range Practices {
		if len(p.Where) == 0 {
			t.Errorf("%s: no \"Where in the code\"", p.Slug)
		}
		for _, w := range p.Where {
			if problems := checkWhere(w, load); len(problems) > 0 {
				t.Errorf("%s: %q: %s", p.Slug, w, strings.Join(problems, "; "))
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no references checked")
	}
}

// checkWhere returns what is wrong with one reference.
func checkWhere(w string, load func(string) (*goSource, error)) []string {
	ref, err := parseWhere(w)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	var srcs []*goSource
	for _, path := range ref.paths {
		s, err := load(path)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		srcs = append(srcs, s)
	}
	if len(problems) > 0 {
		return problems
	}
	for _, name := range ref.names {
		found := false
		for _, s := range srcs {
			found = found || s.decls[name]
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s declares no %s", strings.Join(ref.paths, ", "), name))
		}
	}
	for _, m := range ref.mentions {
		found := false
		for _, s := range srcs {
			found = found || s.mentions(m)
		}
		if !found {
			problems = append(problems, fmt.Sprintf("%s never mentions %s", strings.Join(ref.paths, ", "), m))
		}
	}
	return problems
}

// The parser reads every form the pages use, and refuses what it cannot
// read rather than passing it.
func TestParseWhere(t *testing.T) {
	for _, c := range []struct {
		in                     string
		paths, names, mentions []string
	}{
		{"internal/session/manager.go Manager.Login, Manager.Reauthenticated", []string{"internal/session/manager.go"}, []string{"Manager.Login", "Manager.Reauthenticated"}, nil},
		{"internal/session/manager.go Manager.Revoke, RevokeOthers, Login", []string{"internal/session/manager.go"}, []string{"Manager.Revoke", "Manager.RevokeOthers", "Manager.Login"}, nil},
		{"internal/security/headers.go, csp.go, hsts.go", []string{"internal/security/headers.go", "internal/security/csp.go", "internal/security/hsts.go"}, nil, nil},
		{"internal/session/manager.go NewManager (IdleTimeout, Lifetime)", []string{"internal/session/manager.go"}, []string{"NewManager"}, []string{"IdleTimeout", "Lifetime"}},
		{"internal/config (SESSION_IDLE_TIMEOUT, SESSION_LIFETIME)", []string{"internal/config"}, nil, []string{"SESSION_IDLE_TIMEOUT", "SESSION_LIFETIME"}},
		{"internal/session/writer.go (no-store)", []string{"internal/session/writer.go"}, nil, []string{"no-store"}},
		{"internal/server/routes.go (dynamic tier)", []string{"internal/server/routes.go"}, nil, nil},
		{"internal/security/csrfcookie.go AnonCSRF (no session for anonymous visitors)", []string{"internal/security/csrfcookie.go"}, []string{"AnonCSRF"}, nil},
		{"internal/server/middleware.go authenticate", []string{"internal/server/middleware.go"}, []string{"authenticate"}, nil},
	} {
		ref, err := parseWhere(c.in)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if fmt.Sprint(ref.paths) != fmt.Sprint(c.paths) || fmt.Sprint(ref.names) != fmt.Sprint(c.names) || fmt.Sprint(ref.mentions) != fmt.Sprint(c.mentions) {
			t.Errorf("%q: paths %v names %v mentions %v; want %v %v %v", c.in, ref.paths, ref.names, ref.mentions, c.paths, c.names, c.mentions)
		}
	}
	for _, bad := range []string{"", "(no path)", "/etc/passwd", "internal/session/manager.go Manager.Login()", "internal/session/manager.go Login, other.go", "internal/config, x.go", "internal/session/manager.go (unclosed"} {
		if _, err := parseWhere(bad); err == nil {
			t.Errorf("%q read as a reference", bad)
		}
	}
}

// A wrong reference is caught: a missing file, a missing function, a method
// on the wrong type, a missing mention.
func TestPractices_WhereCheckCatchesWrongReferences(t *testing.T) {
	fset := token.NewFileSet()
	load := func(path string) (*goSource, error) { return loadSource(t, fset, path) }
	for _, w := range []string{
		"internal/session/nosuchfile.go NewManager",
		"internal/session/manager.go NoSuchFunction",
		"internal/session/manager.go Manager.NoSuchMethod",
		"internal/session/manager.go Manager.Login, NoSuchMethod",
		"internal/session/manager.go Registry.Login",
		"internal/security/headers.go, nosuch.go",
		"internal/session/manager.go (NoSuchIdentifier)",
		"internal/nosuchpackage (SESSION_IDLE_TIMEOUT)",
	} {
		if problems := checkWhere(w, load); len(problems) == 0 {
			t.Errorf("%q passed", w)
		}
	}
	if problems := checkWhere("internal/session/manager.go Manager.Login, Logout (HashTokenInStore)", load); len(problems) > 0 {
		t.Errorf("a right reference failed: %v", problems)
	}
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
