package chatcore_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// nobody is Debian's user nobody, as whom the test tries to read the data.
const nobody = 65534

// TestDataDirPrivate starts a node in a data dir an admin made 0755
// beforehand, in a tree others can enter, holding a stray 0644 file. While
// the node runs and after it stops, user nobody can read no file of it
// (the CA key sits in the state db and the Raft log), and the data dir and
// its stores' dirs are 0700; after it stops, nothing under it is open to
// group or others. A restart after
// someone opened it all up again (chmod -R go+rX) makes it private again
// before the stores open.
func TestDataDirPrivate(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test reads files as user nobody, which needs root (CI runs as root)")
	}
	base := t.TempDir()
	// t.TempDir's directories are 0700: open them as a shared /var/lib is.
	for _, d := range []string{filepath.Dir(base), base} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(base, "n1")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(data, 0o755)
	stray := filepath.Join(data, "notes.txt")
	writeOpen(t, stray)
	// The control: nobody can read an open file next to the data dir, so
	// a refused read below is the data dir's doing.
	control := filepath.Join(base, "control.txt")
	writeOpen(t, control)
	if err := readAsNobody(control); err != nil {
		t.Fatalf("control: nobody cannot read %s (%v): the test cannot tell", control, err)
	}

	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 2, Dir: base})
	for i := range 20 {
		send(t, c.Nodes[0], "general", "alice", fmt.Sprintf("message %d", i))
	}
	checkNobodyReadsNothing(t, data)
	checkDirsPrivate(t, data)

	c.Stop(0)
	checkNobodyReadsNothing(t, data)
	checkAllPrivate(t, data)

	// Opened up again while stopped: the restart closes it before use.
	if err := filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, 0o755)
		}
		return os.Chmod(p, 0o644)
	}); err != nil {
		t.Fatal(err)
	}
	c.Restart(0)
	checkNobodyReadsNothing(t, data)
	checkDirsPrivate(t, data)
	if got := history(t, c.Nodes[0], "general"); len(got) != 20 {
		t.Fatalf("after the restart: %d messages, want 20", len(got))
	}
	c.Stop(0)
	checkAllPrivate(t, data)
}

// writeOpen writes a small file of mode 0644 whatever the umask.
func writeOpen(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readAsNobody runs cat on path as user nobody.
func readAsNobody(path string) error {
	cmd := exec.Command("cat", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// checkNobodyReadsNothing tries to read every file under dir as nobody.
func checkNobodyReadsNothing(t *testing.T, dir string) {
	t.Helper()
	n := 0
	walk(t, dir, func(p string, fi fs.FileInfo) {
		if fi.Mode().IsRegular() {
			n++
			if readAsNobody(p) == nil {
				t.Errorf("user nobody can read %s", p)
			}
		}
	})
	if n < 5 {
		t.Fatalf("only %d files under %s: the node wrote less than expected", n, dir)
	}
}

// checkDirsPrivate fails t unless the data dir dir and the directories
// of its stores are 0700: they keep everyone else out of what the stores
// create while they run (dragonboat makes its snapshot dirs 0750, pebble
// its files 0644).
func checkDirsPrivate(t *testing.T, dir string) {
	t.Helper()
	l := chatcore.DataLayout(dir)
	for _, p := range []string{dir, l.StateDB(), l.Raft(), l.TLSDir()} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v, want 0700", p, fi.Mode().Perm())
		}
	}
}

// checkAllPrivate fails t if anything under dir is open to group or
// others.
func checkAllPrivate(t *testing.T, dir string) {
	t.Helper()
	walk(t, dir, func(p string, fi fs.FileInfo) {
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v is open to group or others", p, fi.Mode().Perm())
		}
	})
}

// walk calls f for dir and everything under it.
func walk(t *testing.T, dir string, f func(string, fs.FileInfo)) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		f(p, fi)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
