package daemon

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// Disk guard defaults.
const (
	// DefaultMinFreeDisk is the free space below which a node refuses
	// writes: room for the Raft log, flushes and compactions to finish
	// what is in flight. dragonboat's log store stops the process when a
	// write fails for want of space, so the node must stop taking new
	// writes well before that.
	DefaultMinFreeDisk = 128 << 20
	// diskCheckEvery is how often the guard looks at the data dir's free
	// space; every probeEvery-th look also writes and fsyncs a probe file
	// (seldom, to spare an SD card).
	diskCheckEvery = time.Second
	probeEvery     = 10
	// diskLogEvery is how often the guard repeats, while the disk stays
	// bad, that it is bad.
	diskLogEvery = time.Minute
)

// diskGuard watches the data dir's file system: its free space, and
// whether a small write and fsync still work. While either fails the node
// refuses client writes as unavailable, /healthz answers 503, and the log
// says so once a minute; when the disk is good again all of it clears by
// itself.
type diskGuard struct {
	dir     string
	minFree uint64
	log     *slog.Logger

	checks int // only run touches it

	mu      sync.Mutex
	problem string // "" while the disk is good
	since   time.Time
	logged  time.Time
}

func newDiskGuard(dir string, minFree uint64, log *slog.Logger) *diskGuard {
	return &diskGuard{dir: dir, minFree: minFree, log: log}
}

// run checks the disk every diskCheckEvery until stop is closed.
func (g *diskGuard) run(stop <-chan struct{}) {
	t := time.NewTicker(diskCheckEvery)
	defer t.Stop()
	for {
		g.update(time.Now(), g.check())
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}

// check returns what is wrong with the disk, or "".
func (g *diskGuard) check() string {
	var st syscall.Statfs_t
	if err := syscall.Statfs(g.dir, &st); err != nil {
		return fmt.Sprintf("disk: statfs %s: %v", g.dir, err)
	}
	free := st.Bavail * uint64(st.Bsize)
	if free < g.minFree {
		return fmt.Sprintf("disk nearly full: %d MiB free in %s, writes need %d MiB", free>>20, g.dir, g.minFree>>20)
	}
	g.checks++
	if g.checks%probeEvery == 1 || g.trouble() != "" {
		if err := probeWrite(g.dir); err != nil {
			return fmt.Sprintf("disk: %v", err)
		}
	}
	return ""
}

// probeWrite writes, fsyncs and removes a small file in dir.
func probeWrite(dir string) error {
	path := filepath.Join(dir, ".disk-probe")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	_, err = f.Write(make([]byte, 4096))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	os.Remove(path)
	if err != nil {
		return fmt.Errorf("write probe: %w", err)
	}
	return nil
}

// update records the latest check and logs a change at once, and a lasting
// problem once per diskLogEvery.
func (g *diskGuard) update(now time.Time, problem string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case problem == "" && g.problem != "":
		g.log.Info("disk good again: taking writes", "after", now.Sub(g.since).Round(time.Second))
	case problem != "" && g.problem == "":
		g.since, g.logged = now, now
		g.log.Error("refusing writes", "reason", problem)
	case problem != "" && now.Sub(g.logged) >= diskLogEvery:
		g.logged = now
		g.log.Error("still refusing writes", "reason", problem, "for", now.Sub(g.since).Round(time.Second))
	}
	g.problem = problem
}

// trouble returns what is wrong with the disk, or "".
func (g *diskGuard) trouble() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.problem
}

// refuse returns the error that refuses a write while the disk is bad, or
// nil.
func (g *diskGuard) refuse() *transport.Error {
	p := g.trouble()
	if p == "" {
		return nil
	}
	return &transport.Error{Code: transport.CodeUnavailable, Message: fmt.Sprintf("%s: %v", p, parley.ErrUnavailable), RetryMillis: diskCheckEvery.Milliseconds()}
}

// writes reports whether op writes to the Raft log on behalf of a client.
func writes(op string) bool {
	switch op {
	case transport.OpSend, transport.OpJoin, transport.OpLeave, transport.OpImport:
		return true
	}
	return false
}
