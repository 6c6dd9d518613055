package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// The contrast build's switches (build tag "contrast", `make
// demo-insecure`) are not in the default binary: its marker text is
// absent without the tag and present with it.
func TestContrast_AbsentFromTheDefaultBuild(t *testing.T) {
	marker := []byte("CONTRAST BUILD: defences can be switched off")
	dir := t.TempDir()
	for _, tc := range []struct {
		tags string
		want bool
	}{{"", false}, {"contrast", true}} {
		bin := filepath.Join(dir, "web-"+tc.tags)
		args := []string{"build", "-o", bin}
		if tc.tags != "" {
			args = append(args, "-tags", tc.tags)
		}
		cmd := exec.Command("go", append(args, ".")...)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go %v: %v\n%s", args, err, out)
		}
		raw, err := os.ReadFile(bin)
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(raw, marker); got != tc.want {
			t.Errorf("tags %q: the contrast switches in the binary = %v, want %v", tc.tags, got, tc.want)
		}
	}
}
