package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/parleychat/parley/chatcore"
)

// Both binaries say their version, commit and Go version, and parleyd the
// apply rules version nodes must share.
func TestVersionCommands(t *testing.T) {
	for _, bin := range []string{parleyBin, parleydBin} {
		out, err := exec.Command(bin, "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", bin, err, out)
		}
		name := filepath.Base(bin)
		if !strings.HasPrefix(string(out), name+" ") || !strings.Contains(string(out), runtime.Version()) || !strings.Contains(string(out), "commit ") {
			t.Errorf("%s version: %q", name, out)
		}
	}
	out, _ := exec.Command(parleydBin, "version").CombinedOutput()
	if want := fmt.Sprintf("apply rules version %d", chatcore.ApplyRulesVersion); !strings.Contains(string(out), want) {
		t.Errorf("parleyd version: %q lacks %q", out, want)
	}
}

// The version and commit the Makefile stamps with -ldflags -X are the ones
// printed.
func TestVersionFromLinkerFlags(t *testing.T) {
	dir := t.TempDir()
	flags := "-X github.com/parleychat/parley/internal/buildinfo.version=v7.7.7-test -X github.com/parleychat/parley/internal/buildinfo.commit=c0ffee"
	build := exec.Command("go", "build", "-ldflags", flags, "-o", dir+"/", "./cmd/parley")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(filepath.Join(dir, "parley"), "version").CombinedOutput()
	want := fmt.Sprintf("parley v7.7.7-test (commit c0ffee, %s)\n", runtime.Version())
	if err != nil || string(out) != want {
		t.Fatalf("got %q (%v), want %q", out, err, want)
	}
}
