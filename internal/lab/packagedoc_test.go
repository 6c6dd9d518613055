package lab

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// fileRef is a file a package doc names: server.go, handlers_*.go,
// docs/REDIS-CLUSTER.md, deploy/stack_test.go, go.mod, the Dockerfile. A
// name whose extension is not one of the repository's own file types
// (certs/localhost.pem, an output) is not a reference.
var fileRef = regexp.MustCompile(`(?:^|[^\w./:*-])((?:[\w*.-]+/)*(?:[\w*-][\w.*-]*\.(?:go|md|mod|sum|tmpl|sql|css|js|svg|png|ya?ml)|Dockerfile|Makefile|Caddyfile))\b`)

// fileRefs returns the files doc names, as written.
func fileRefs(doc string) []string {
	var out []string
	for _, m := range fileRef.FindAllStringSubmatch(doc, -1) {
		out = append(out, m[1])
	}
	return out
}

// missingFiles returns the references of a package doc in dir (relative to
// the repository's root) that name no file: a name is looked up in the
// package's directory, then from the repository's root; a * matches as
// in a shell.
func missingFiles(dir, doc string) []string {
	var missing []string
	for _, ref := range fileRefs(doc) {
		found := false
		for _, base := range []string{dir, "."} {
			matches, _ := filepath.Glob(filepath.Join(repoRoot, base, filepath.FromSlash(ref)))
			found = found || len(matches) > 0
		}
		if !found {
			missing = append(missing, ref)
		}
	}
	return missing
}

// packageDocs returns the package doc comments of the repository's Go
// files (package main's "Command …" included), by file.
func packageDocs(t *testing.T) map[string]string {
	t.Helper()
	docs := map[string]string{}
	fset := token.NewFileSet()
	for _, path := range goFiles(t) {
		f, err := parser.ParseFile(fset, path, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			t.Errorf("%s: %v", relPath(path), err)
			continue
		}
		if f.Doc != nil {
			docs[relPath(path)] = f.Doc.Text()
		}
	}
	return docs
}

// Every file a package doc names exists, so a doc cannot go on describing
// a file that was renamed or removed.
func TestPackageDocs_NameFilesThatExist(t *testing.T) {
	docs := packageDocs(t)
	refs := 0
	for file, doc := range docs {
		refs += len(fileRefs(doc))
		for _, ref := range missingFiles(filepath.Dir(file), doc) {
			t.Errorf("%s: the package doc names %s, which is neither in %s nor at the repository's root", file, ref, filepath.Dir(file))
		}
	}
	if len(docs) < 15 || refs < 20 {
		t.Fatalf("%d package docs naming %d files: is the parsing wrong?", len(docs), refs)
	}
	t.Logf("%d package docs name %d files", len(docs), refs)
}

// The check reads the ways docs name files, and catches a missing one.
func TestPackageDocs_FileCheckCatchesAMissingFile(t *testing.T) {
	doc := "Package x: the pool (pool.go), its tests (*_test.go), docs/BENCHMARKS.md, " +
		"`make stack` (deploy/stack_test.go), the Dockerfile and go.mod; not https://example.com/a.go, " +
		"/usr/bin/chromium or certs/localhost.pem. Gone: gone.go, docs/GONE.md, nothing_*.go."
	if got, want := strings.Join(fileRefs(doc), " "), "pool.go *_test.go docs/BENCHMARKS.md deploy/stack_test.go Dockerfile go.mod gone.go docs/GONE.md nothing_*.go"; got != want {
		t.Errorf("references:\n got %s\nwant %s", got, want)
	}
	if got, want := strings.Join(missingFiles("internal/redisdb", doc), " "), "gone.go docs/GONE.md nothing_*.go"; got != want {
		t.Errorf("missing in internal/redisdb: got %q, want %q", got, want)
	}
}
