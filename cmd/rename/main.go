// Command rename gives a fork its own module path. It sets go.mod's module
// line with `go mod edit -module`, then rewrites every other file under the
// module's root that names the old path: import paths, and any string,
// comment or document that does. The Go files it changed are gofmt'ed, since
// a new path can sort differently among the imports.
//
//	go run ./cmd/rename -module example.com/you/app
//
// `make rename MODULE=example.com/you/app` runs it, then `go build ./...`.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"go/format"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "rename: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fl := flag.NewFlagSet("rename", flag.ContinueOnError)
	module := fl.String("module", "", "the new module path, e.g. example.com/you/app")
	dir := fl.String("dir", ".", "the module's root, where go.mod is")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *module == "" || fl.NArg() > 0 {
		return errors.New("usage: rename -module example.com/you/app [-dir .]")
	}
	old, changed, err := rename(*dir, *module)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "module %s is now %s: go.mod and %d other files rewritten\n", old, *module, len(changed))
	for _, f := range changed {
		fmt.Fprintf(stdout, "  %s\n", f)
	}
	return nil
}

// rename sets the module path of the module in dir to newPath and replaces
// the old path in every other text file under dir. It returns the old path
// and the files it rewrote besides go.mod, relative to dir.
func rename(dir, newPath string) (oldPath string, changed []string, err error) {
	oldPath, err = modulePath(dir)
	if err != nil {
		return "", nil, err
	}
	if newPath == oldPath {
		return "", nil, fmt.Errorf("the module is already %s", newPath)
	}
	// go mod edit checks the path (it refuses "not a path", "-x", "../x").
	if out, err := goCmd(dir, "mod", "edit", "-module="+newPath); err != nil {
		return "", nil, fmt.Errorf("go mod edit: %s", strings.TrimSpace(string(out)))
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil // symbolic links are left alone, and so is what they point to
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		ok, err := rewriteFile(path, oldPath, newPath)
		if ok && rel != "go.mod" {
			changed = append(changed, filepath.ToSlash(rel))
		}
		return err
	})
	return oldPath, changed, err
}

// modulePath reads the module path from dir's go.mod.
func modulePath(dir string) (string, error) {
	out, err := goCmd(dir, "mod", "edit", "-json")
	if err != nil {
		return "", fmt.Errorf("reading %s: %s", filepath.Join(dir, "go.mod"), strings.TrimSpace(string(out)))
	}
	var mod struct{ Module struct{ Path string } }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Module.Path == "" {
		return "", fmt.Errorf("reading %s: no module path", filepath.Join(dir, "go.mod"))
	}
	return mod.Module.Path, nil
}

func goCmd(dir string, args ...string) ([]byte, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	return cmd.CombinedOutput()
}

// rewriteFile replaces oldPath with newPath in the file at path, unless it
// is binary; it reports whether the file changed.
func rewriteFile(path, oldPath, newPath string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		return false, nil // binary (a built program, a database, an image)
	}
	text, n := replacePath(string(data), oldPath, newPath)
	if n == 0 {
		return false, nil
	}
	out := []byte(text)
	if strings.HasSuffix(path, ".go") {
		// A Go file that does not parse (test data, say) keeps the text as replaced.
		if formatted, err := format.Source(out); err == nil {
			out = formatted
		}
	}
	info, err := os.Stat(path)
	if err != nil {
		return false, err
	}
	return true, os.WriteFile(path, out, info.Mode().Perm())
}

// replacePath replaces each occurrence of the module path oldPath in s that
// stands alone as a path — not part of a longer name such as the path
// followed by "-extra" — and counts them.
func replacePath(s, oldPath, newPath string) (string, int) {
	var b strings.Builder
	n := 0
	for {
		i := strings.Index(s, oldPath)
		if i < 0 {
			b.WriteString(s)
			return b.String(), n
		}
		end := i + len(oldPath)
		if i > 0 && (nameByte(s[i-1]) || s[i-1] == '.') || end < len(s) && nameByte(s[end]) {
			b.WriteString(s[:end])
		} else {
			b.WriteString(s[:i])
			b.WriteString(newPath)
			n++
		}
		s = s[end:]
	}
}

// nameByte reports whether c can continue a path element (so that a match
// next to it is part of a longer name). A "/" or "." after the path does
// not: "…/sessionlab/internal/x", "…/sessionlab." at the end of a sentence.
func nameByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}
