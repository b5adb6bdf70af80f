package atomicfile

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// onlyFile fails t unless dir holds exactly the file name: no temporary
// file is left behind.
func onlyFile(t *testing.T, dir, name string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != name {
		t.Fatalf("%s holds %v, want only %s", dir, names, name)
	}
}

func TestWriteReplacesContentWithMode(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// 0660 is not what the usual umask 022 would leave: the mode must be
	// applied as given.
	for _, perm := range []os.FileMode{0o600, 0o660, 0o644} {
		data := []byte("new " + perm.String())
		if err := Write(path, data, perm); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("after Write: %q, %v; want %q", got, err, data)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != perm {
			t.Errorf("mode %v after Write(%v), want %v", fi.Mode().Perm(), perm, perm)
		}
		onlyFile(t, dir, "f.json")
	}
}

func TestWriteCreatesMissingDirPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	if err := Write(filepath.Join(dir, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("created dir has mode %v, want 0700", fi.Mode().Perm())
	}
	onlyFile(t, dir, "f")
}

// TestWriteFailedRenameLeavesNoTemp makes the rename fail (the path is a
// directory that is not empty) and checks the error and that the
// directory holds nothing more.
func TestWriteFailedRenameLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(target, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	err := Write(target, []byte("x"), 0o600)
	if err == nil || !strings.Contains(err.Error(), target) {
		t.Fatalf("Write over a non-empty directory: %v, want an error naming it", err)
	}
	onlyFile(t, dir, "target")
}

// helperEnv, when set, makes the test binary a helper process that writes
// $ATOMICFILE_PATH under a file size limit of 16 bytes and exits 3 if
// Write failed.
const helperEnv = "ATOMICFILE_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		lim := syscall.Rlimit{Cur: 16, Max: 16}
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
			os.Exit(2)
		}
		if err := Write(os.Getenv("ATOMICFILE_PATH"), bytes.Repeat([]byte("n"), 4096), 0o600); err != nil {
			os.Stderr.WriteString(err.Error())
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestWriteFailedWriteKeepsOldContent runs Write in a child process whose
// file size limit makes the data write fail (EFBIG): the old content must
// survive, and no temporary file be left.
func TestWriteFailedWriteKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	old := []byte("old content")
	if err := os.WriteFile(path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"=1", "ATOMICFILE_PATH="+path)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 3 {
		t.Fatalf("helper: %v, output %q; want exit 3 (Write failed)", err, out)
	}
	if !strings.Contains(string(out), "file too large") {
		t.Errorf("helper's error %q, want EFBIG", out)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, old) {
		t.Fatalf("after a failed Write: %q, %v; want the old %q", got, err, old)
	}
	onlyFile(t, dir, "f")
}
