package chatcore

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parleychat/parley"
)

// TestSecureDataDirFixesAndLogsOnce makes a data dir as a careless admin
// would (0755, files 0644 and 0666, a subdir 0777) and checks that every
// mode is made private, once, with one warning; a second pass finds
// nothing to do and says nothing.
func TestSecureDataDirFixesAndLogsOnce(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	sub := filepath.Join(dir, "sub")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]fs.FileMode{
		filepath.Join(dir, "a"): 0o644, filepath.Join(sub, "b"): 0o666, filepath.Join(dir, "c"): 0o400,
	}
	for p, m := range files {
		if err := os.WriteFile(p, []byte("x"), m); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, m) // whatever the umask
	}
	os.Chmod(sub, 0o777)
	os.Chmod(dir, 0o755)
	// A symlink to a file outside is not followed, nor its target changed.
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(outside, 0o644)
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}

	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	if err := secureDataDir(dir, log, true); err != nil {
		t.Fatal(err)
	}
	want := map[string]fs.FileMode{
		dir: 0o700, sub: 0o700,
		filepath.Join(dir, "a"): 0o600, filepath.Join(sub, "b"): 0o600,
		filepath.Join(dir, "c"): 0o400, // already private: left as it is
		outside:                 0o644,
	}
	for p, m := range want {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != m {
			t.Errorf("%s: mode %v, want %v", p, fi.Mode().Perm(), m)
		}
	}
	if n := strings.Count(logs.String(), "\n"); n != 1 || !strings.Contains(logs.String(), "fixed=4") {
		t.Errorf("log after fixing 4 modes: %q, want one warning with fixed=4", logs.String())
	}
	logs.Reset()
	if err := secureDataDir(dir, log, true); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Errorf("a second pass logged %q, want nothing", logs.String())
	}
}

// TestSecureDataDirCreatesPrivate checks a missing data dir is made 0700.
func TestSecureDataDirCreatesPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "data")
	if err := secureDataDir(dir, slog.New(slog.DiscardHandler), true); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("new data dir mode %v, want 0700", fi.Mode().Perm())
	}
}

// TestSecureDataDirRefusesAnotherOwner gives a file of the data dir to
// user nobody (tests run as root, as CI does): the node must refuse to
// start, naming the file and the fix, and change nothing.
func TestSecureDataDirRefusesAnotherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test chowns a file to nobody, which needs root (CI runs as root)")
	}
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	theirs := filepath.Join(dir, "theirs")
	if err := os.WriteFile(theirs, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(theirs, 0o644)
	if err := os.Chown(theirs, nobodyUID, nobodyUID); err != nil {
		t.Fatal(err)
	}
	err := secureDataDir(dir, slog.New(slog.DiscardHandler), true)
	if !errors.Is(err, parley.ErrInvalid) || !strings.Contains(err.Error(), theirs) ||
		!strings.Contains(err.Error(), "uid 65534") || !strings.Contains(err.Error(), "chown") {
		t.Fatalf("data dir with a file of nobody's: %v; want an ErrInvalid naming it, its owner and chown", err)
	}
	for p, m := range map[string]fs.FileMode{dir: 0o755, theirs: 0o644} {
		if fi, _ := os.Stat(p); fi.Mode().Perm() != m {
			t.Errorf("refused data dir: %s's mode changed to %v", p, fi.Mode().Perm())
		}
	}
}

// nobodyUID is the uid and gid of user nobody on Debian.
const nobodyUID = 65534
