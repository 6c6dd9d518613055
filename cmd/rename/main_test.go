package main

import (
	"bytes"
	"go/format"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sessionlab/sessionlab/internal/testenv"
)

const (
	oldModule = "github.com/sessionlab/sessionlab"
	newModule = "example.com/you/app"
)

// A fork runs `make rename MODULE=…` on its clone: afterwards it builds and
// vets under the new path, is still gofmt'ed, and no file names the old
// path. The rename runs on a copy of the repository's files; the checkout
// itself is left as it was.
func TestMakeRename_TheCopyBuildsUnderTheNewPathAndNoFileNamesTheOldOne(t *testing.T) {
	makeBin, err := exec.LookPath("make")
	if err != nil {
		testenv.Unavailable(t, "make", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	files := repositoryFiles(t, root)
	before := contents(t, root, files)
	if !slices.ContainsFunc(files, func(f string) bool { return bytes.Contains(before[f], []byte(oldModule+"/internal/")) }) {
		t.Fatalf("no file of the checkout imports %s/internal/...: nothing for the rename to prove", oldModule)
	}

	copyDir := t.TempDir()
	for _, f := range files {
		if before[f] == nil {
			continue // listed but deleted in the work tree
		}
		dst := filepath.Join(copyDir, f)
		info, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, before[f], info.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}

	// make rename runs the tool, then go build ./...
	out := command(t, copyDir, makeBin, "--no-print-directory", "rename", "MODULE="+newModule)
	t.Logf("make rename:\n%s", out)
	command(t, copyDir, "go", "vet", "./...")
	if got := strings.TrimSpace(command(t, copyDir, "go", "list", "-m")); got != newModule {
		t.Errorf("go list -m = %q after the rename, want %q", got, newModule)
	}
	if got := strings.TrimSpace(command(t, copyDir, "gofmt", "-l", ".")); got != "" {
		t.Errorf("files no longer gofmt'ed after the rename:\n%s", got)
	}
	imports := 0
	err = filepath.WalkDir(copyDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(copyDir, path)
		if bytes.Contains(data, []byte(oldModule)) {
			t.Errorf("%s still names %s", rel, oldModule)
		}
		if strings.HasSuffix(rel, ".go") && bytes.Contains(data, []byte(`"`+newModule+`/internal/`)) {
			imports++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if imports == 0 {
		t.Errorf("no Go file imports %s/internal/... after the rename", newModule)
	}

	for f, data := range contents(t, root, files) {
		if !bytes.Equal(data, before[f]) {
			t.Errorf("the checkout's %s changed during the test", f)
		}
	}
}

// The path is replaced where it stands alone, never inside a longer name.
func TestReplacePath_OnlyTheModulePathItself(t *testing.T) {
	// Built from the constants, so that this file names the old path only
	// where a rename should replace it.
	const o, n = oldModule, newModule
	for _, tc := range []struct{ in, want string }{
		{`import "` + o + `/internal/config"`, `import "` + n + `/internal/config"`},
		{"module " + o + "\n", "module " + n + "\n"},
		{"see https://" + o + ".", "see https://" + n + "."},
		{"-X " + o + "/cmd/web.version=1", "-X " + n + "/cmd/web.version=1"},
		{o + "-extra", o + "-extra"},
		{o + "s/x", o + "s/x"},
		{"not" + o + "/x", "not" + o + "/x"},
		{"a " + o + " b " + o + "_c", "a " + n + " b " + o + "_c"},
	} {
		if got, _ := replacePath(tc.in, oldModule, newModule); got != tc.want {
			t.Errorf("replacePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// A new path can sort elsewhere among the imports; the rewritten file is
// gofmt'ed, so make lint still passes on the fork.
func TestRename_GoFilesStayFormattedAndBadPathsAreRefused(t *testing.T) {
	dir := t.TempDir()
	src := "package main\n\nimport (\n\t\"fmt\"\n\t\"" + oldModule + "/internal/a\"\n\t\"github.com/zz/b\"\n)\n\nfunc main() { fmt.Println(a.X, b.Y) }\n"
	write(t, filepath.Join(dir, "go.mod"), "module "+oldModule+"\n\ngo 1.26.0\n")
	write(t, filepath.Join(dir, "main.go"), src)
	write(t, filepath.Join(dir, "bin", "app"), "\x00\x01"+oldModule) // a built binary: left alone

	for _, bad := range []string{"not a path", "-x", oldModule} {
		if _, _, err := rename(dir, bad); err == nil {
			t.Errorf("rename to %q: no error", bad)
		}
	}
	if got := read(t, filepath.Join(dir, "main.go")); got != src {
		t.Fatalf("a refused rename changed main.go:\n%s", got)
	}

	old, changed, err := rename(dir, "aaa.example/app")
	if err != nil {
		t.Fatal(err)
	}
	if old != oldModule || !slices.Equal(changed, []string{"main.go"}) {
		t.Errorf("rename = %q, %v; want %q, [main.go]", old, changed, oldModule)
	}
	got := read(t, filepath.Join(dir, "main.go"))
	if !strings.Contains(got, "\t\"aaa.example/app/internal/a\"\n\t\"fmt\"\n\t\"github.com/zz/b\"\n") {
		t.Errorf("imports not rewritten and sorted:\n%s", got)
	}
	if formatted, err := format.Source([]byte(got)); err != nil || string(formatted) != got {
		t.Errorf("main.go is not gofmt'ed after the rename:\n%s", got)
	}
	if !strings.HasPrefix(read(t, filepath.Join(dir, "go.mod")), "module aaa.example/app\n") {
		t.Errorf("go.mod:\n%s", read(t, filepath.Join(dir, "go.mod")))
	}
	if read(t, filepath.Join(dir, "bin", "app")) != "\x00\x01"+oldModule {
		t.Error("a binary file was rewritten")
	}
}

// repositoryFiles lists the files git tracks, and new ones it does not
// ignore, relative to root.
func repositoryFiles(t *testing.T, root string) []string {
	t.Helper()
	out := command(t, root, "git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	var files []string
	for f := range strings.SplitSeq(out, "\x00") {
		if f != "" {
			files = append(files, filepath.FromSlash(f))
		}
	}
	if len(files) == 0 {
		t.Fatal("git ls-files listed nothing")
	}
	return files
}

// contents reads each file; one listed but missing from the work tree is nil.
func contents(t *testing.T, root string, files []string) map[string][]byte {
	t.Helper()
	m := make(map[string][]byte, len(files))
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(root, f))
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		m[f] = data
	}
	return m
}

// command runs name in dir and returns its standard output; it fails the
// test, with everything printed, on a non-zero exit. make's variables from an
// enclosing `make test` are not passed on.
func command(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, v := range []string{"MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKEOVERRIDES="} {
			if strings.HasPrefix(kv, v) {
				return true
			}
		}
		return false
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
