package chatcore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"syscall"

	"github.com/parleychat/parley"
)

// The modes of everything in a data directory: it holds the cluster CA's
// private key, the session-token secret and password hashes (in the state
// db and the Raft log), the node's key and the join token.
const (
	dataDirMode  fs.FileMode = 0o700
	dataFileMode fs.FileMode = 0o600
	// openBits are the permission bits that let others than the owner in.
	openBits fs.FileMode = 0o077
)

// secureDataDir makes the data directory dir private to the user this
// process runs as: it creates it (0700) if missing, and walks it, making
// every directory 0700 and every file 0600 that is open to group or
// others. It fails, naming the path, if dir or anything in it belongs to
// another user (who could open it up again) or if a mode cannot be
// changed. If loud, what it had to fix is logged once, as a warning; the
// quiet passes tighten what the stores created meanwhile.
//
// Pebble and dragonboat's LogDB create their files 0666 and directories
// 0755 less the umask, with no option to choose: a node runs this when it
// starts (before the stores open, and again once they have), and when it
// closes. In between, new files of the stores may be 0644, but they sit
// in directories that are 0700, which no one but the owner can enter.
func secureDataDir(dir string, log *slog.Logger, loud bool) error {
	if err := os.MkdirAll(dir, dataDirMode); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	// First look, then change: a data dir that is refused is left as it is.
	uid := os.Geteuid()
	type loose struct {
		path string
		perm fs.FileMode
		dir  bool
	}
	var open []loose
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != dir && errors.Is(err, fs.ErrNotExist) {
				return nil // removed by a store meanwhile
			}
			return err
		}
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return nil // not followed: its target is not ours to judge
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != uid {
			return fmt.Errorf("%s belongs to uid %d, but this node runs as uid %d, so it cannot keep it private: chown -R it to the node's user, or use another data directory: %w",
				path, st.Uid, uid, parley.ErrInvalid)
		}
		if perm := fi.Mode().Perm(); perm&openBits != 0 {
			open = append(open, loose{path, perm, fi.IsDir()})
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	fixed := 0
	for _, l := range open {
		want := dataFileMode
		if l.dir {
			want = dataDirMode
		}
		if err := os.Chmod(l.path, want); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("data dir: cannot make %s private (mode %v): %w", l.path, l.perm, err)
		}
		fixed++
	}
	if fixed > 0 && loud {
		log.Warn("data dir: made files and directories open to group or others private (dirs 0700, files 0600)",
			"dir", dir, "fixed", fixed, "first", fmt.Sprintf("%s was %v", open[0].path, open[0].perm))
	}
	return nil
}
