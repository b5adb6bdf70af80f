package chatcore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	pvfs "github.com/cockroachdb/pebble/vfs"
	"github.com/lni/vfs"
	"github.com/parleychat/parley/internal/atomicfile"
)

// A node keeps every file it has on one file system, Config.FS: its
// identity and TLS material, the Raft log (dragonboat's Expert.FS) and the
// state db (pebble's Options.FS). The default is the OS's disk; tests put a
// node on vfs.NewStrictMem to cut its power (see Config.FS).

// fsOrDisk returns cfg's file system, the OS's disk if none is set.
func fsOrDisk(f vfs.FS) vfs.FS {
	if f == nil {
		return vfs.Default
	}
	return f
}

// onDisk reports whether f is the OS's disk.
func onDisk(f vfs.FS) bool { return f == nil || f == vfs.Default }

// pebbleFS presents a lni/vfs file system (dragonboat's) as pebble's.
type pebbleFS struct{ fs vfs.FS }

var _ pvfs.FS = pebbleFS{}

func (p pebbleFS) Create(name string) (pvfs.File, error)  { return p.fs.Create(name) }
func (p pebbleFS) Link(oldname, newname string) error     { return p.fs.Link(oldname, newname) }
func (p pebbleFS) OpenDir(name string) (pvfs.File, error) { return p.fs.OpenDir(name) }
func (p pebbleFS) Remove(name string) error               { return p.fs.Remove(name) }
func (p pebbleFS) RemoveAll(name string) error            { return p.fs.RemoveAll(name) }
func (p pebbleFS) Rename(oldname, newname string) error   { return p.fs.Rename(oldname, newname) }
func (p pebbleFS) MkdirAll(dir string, perm os.FileMode) error {
	return p.fs.MkdirAll(dir, perm)
}
func (p pebbleFS) Lock(name string) (io.Closer, error)   { return p.fs.Lock(name) }
func (p pebbleFS) List(dir string) ([]string, error)     { return p.fs.List(dir) }
func (p pebbleFS) Stat(name string) (os.FileInfo, error) { return p.fs.Stat(name) }
func (p pebbleFS) PathBase(path string) string           { return p.fs.PathBase(path) }
func (p pebbleFS) PathJoin(elem ...string) string        { return p.fs.PathJoin(elem...) }
func (p pebbleFS) PathDir(path string) string            { return p.fs.PathDir(path) }
func (p pebbleFS) ReuseForWrite(oldname, newname string) (pvfs.File, error) {
	return p.fs.ReuseForWrite(oldname, newname)
}

// Open opens name; pebble's open options (read-pattern hints) need the OS
// file, so they apply only on disk.
func (p pebbleFS) Open(name string, opts ...pvfs.OpenOption) (pvfs.File, error) {
	f, err := p.fs.Open(name)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o.Apply(f)
	}
	return f, nil
}

func (p pebbleFS) GetDiskUsage(path string) (pvfs.DiskUsage, error) {
	du, err := p.fs.GetDiskUsage(path)
	return pvfs.DiskUsage{AvailBytes: du.AvailBytes, TotalBytes: du.TotalBytes, UsedBytes: du.UsedBytes}, err
}

// exists reports whether path exists on f.
func exists(f vfs.FS, path string) bool {
	_, err := f.Stat(path)
	return err == nil
}

// readFile reads the whole file at path on f.
func readFile(f vfs.FS, path string) ([]byte, error) {
	file, err := f.Open(path)
	if err != nil {
		return nil, err
	}
	defer file.Close()
	return io.ReadAll(file)
}

// mkdirAllSynced makes dir and its missing parents with mode perm, and
// syncs each parent whose entries changed, so that the directories survive
// a power loss.
func mkdirAllSynced(f vfs.FS, dir string, perm os.FileMode) error {
	var missing []string
	for d := filepath.Clean(dir); !exists(f, d); d = filepath.Dir(d) {
		missing = append(missing, d)
		if d == filepath.Dir(d) {
			break
		}
	}
	if err := f.MkdirAll(dir, perm); err != nil {
		return err
	}
	for _, d := range missing {
		if err := syncDir(f, filepath.Dir(d)); err != nil {
			return err
		}
	}
	return nil
}

// syncDir fsyncs directory dir, making the entries in it durable.
func syncDir(f vfs.FS, dir string) error {
	d, err := f.OpenDir(dir)
	if err != nil {
		return err
	}
	if err := d.Sync(); err != nil {
		d.Close()
		return err
	}
	return d.Close()
}

// writeFileOn replaces the file at path on f with data: on disk with
// atomicfile.Write (mode perm), elsewhere by writing a temporary file,
// fsyncing it, renaming it over path and fsyncing the directory. After a
// crash or a power loss path holds either its old content or data.
func writeFileOn(f vfs.FS, path string, data []byte, perm os.FileMode) error {
	if onDisk(f) {
		return atomicfile.Write(path, data, perm)
	}
	if err := mkdirAllSynced(f, filepath.Dir(path), dataDirMode); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	tmp := path + ".tmp"
	file, err := f.Create(tmp)
	if err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	if _, err := file.Write(data); err != nil {
		file.Close()
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := file.Sync(); err != nil {
		file.Close()
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := f.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	if err := syncDir(f, filepath.Dir(path)); err != nil {
		return fmt.Errorf("atomic write: %w", err)
	}
	return nil
}

// prepareDataDir makes the data directory ready before a node's stores
// open: on disk, private to this user (secureDataDir, loud if it had to
// fix something); on another file system, created and synced.
func prepareDataDir(cfg Config, loud bool) error {
	if onDisk(cfg.FS) {
		return secureDataDir(cfg.DataDir, cfg.Logger, loud)
	}
	if err := mkdirAllSynced(cfg.FS, cfg.DataDir, dataDirMode); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	return nil
}

// raftTLS returns the TLS files to give dragonboat. Dragonboat reads them
// from the OS's disk whatever its Expert.FS, so for a node on another
// file system they are copied from it into a private temporary directory,
// which cleanup removes.
func raftTLS(f vfs.FS, dataDir string) (files TLSFiles, cleanup func(), err error) {
	files = DataLayout(dataDir).TLS()
	if onDisk(f) {
		return files, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "parley-tls-")
	if err != nil {
		return files, nil, fmt.Errorf("tls: %w", err)
	}
	cleanup = func() { os.RemoveAll(dir) }
	out := TLSFiles{
		CA:   filepath.Join(dir, filepath.Base(files.CA)),
		Cert: filepath.Join(dir, filepath.Base(files.Cert)),
		Key:  filepath.Join(dir, filepath.Base(files.Key)),
	}
	for src, dst := range map[string]string{files.CA: out.CA, files.Cert: out.Cert, files.Key: out.Key} {
		b, err := readFile(f, src)
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%s: %w", src, err)
		}
		if err == nil {
			err = os.WriteFile(dst, b, 0o600)
		}
		if err != nil {
			cleanup()
			return files, nil, fmt.Errorf("tls: %w", err)
		}
	}
	return out, cleanup, nil
}
