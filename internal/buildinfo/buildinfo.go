// Package buildinfo says which build of Parley is running: its version, the
// commit it was built from and the Go version that built it.
//
// The Makefile sets version and commit with -ldflags -X; a plain "go build"
// or "go install" falls back to what the Go toolchain stamped into the
// binary (runtime/debug.ReadBuildInfo: the module version and vcs.revision).
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker: -X github.com/parleychat/parley/internal/buildinfo.version=v1.2.3
var (
	version string
	commit  string
)

// Info describes one build.
type Info struct {
	// Version is the release ("v0.3.0"), a git describe, or "devel".
	Version string
	// Commit is the git commit, with "-dirty" if the tree had changes, or
	// "unknown".
	Commit string
	// GoVersion is the Go toolchain that built the binary.
	GoVersion string
}

// Get returns this binary's build information.
func Get() Info {
	i := Info{Version: version, Commit: commit, GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		if i.Commit == "" {
			i.Commit = vcsCommit(bi.Settings)
		}
	}
	if i.Version == "" {
		i.Version = "devel"
	}
	if i.Commit == "" {
		i.Commit = "unknown"
	}
	return i
}

func vcsCommit(settings []debug.BuildSetting) string {
	var rev string
	var dirty bool
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev != "" && dirty {
		rev += "-dirty"
	}
	return rev
}

// String is the one line "parley version" prints: name, version, commit,
// Go version.
func (i Info) String() string {
	return fmt.Sprintf("%s (commit %s, %s)", i.Version, i.Commit, i.GoVersion)
}
