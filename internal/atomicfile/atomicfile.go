// Package atomicfile replaces a file's content all at once: a reader, or
// the file after a crash, has the old content or the new one, never a part
// of either.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write replaces the file at path with data, with permission bits perm
// whatever the umask: it writes a temporary file in the same directory
// (creating the directory, mode 0700, if it is missing), fsyncs it, renames
// it over path and fsyncs the directory, so that the rename itself is
// durable. No temporary file is left behind; if Write fails before the
// rename, the file at path is as it was.
func Write(path string, data []byte, perm os.FileMode) error {
	return WriteWith(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteWith is Write of what write writes, streamed to the temporary
// file; if write fails, so does WriteWith, and the file at path is as it
// was.
func WriteWith(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("atomic write: %s: %w", path, err)
		}
	}()
	if err := f.Chmod(perm.Perm()); err != nil {
		return err
	}
	if err := write(f); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(dir)
}

// syncDir fsyncs the directory dir, which makes a rename in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
