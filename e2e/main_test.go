package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Paths of the binaries TestMain builds.
var (
	parleydBin  string
	parleyBin   string
	statsbotBin string
)

// TestMain builds cmd/parleyd, cmd/parley and examples/statsbot into a
// temporary directory, runs the tests, and stops the cluster the tests
// without faults share.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "parley-e2e-bin-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: temp dir: %v\n", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: FAIL: cannot build the binaries under test:\n%v\n", err)
		return 1
	}
	code := m.Run()
	stopSharedCluster()
	return code
}

// buildBinaries builds parleyd, parley and statsbot into dir with the go command on
// PATH, from the root of the module this package belongs to.
func buildBinaries(dir string) error {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("go toolchain: %w", err)
	}
	out, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return fmt.Errorf("go env GOMOD: not inside a module")
	}
	build := exec.Command(goCmd, "build", "-o", dir+string(filepath.Separator), "./cmd/parleyd", "./cmd/parley", "./examples/statsbot")
	build.Dir = filepath.Dir(gomod)
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w\n%s", err, out)
	}
	parleydBin = filepath.Join(dir, "parleyd")
	parleyBin = filepath.Join(dir, "parley")
	statsbotBin = filepath.Join(dir, "statsbot")
	for _, b := range []string{parleydBin, parleyBin, statsbotBin} {
		if _, err := os.Stat(b); err != nil {
			return fmt.Errorf("go build: %w", err)
		}
	}
	return nil
}
