// Package softsettings runs a binary that hosts dragonboat replicas (parleyd,
// and the raw dragonboat peer of the benchmark) with Parley's dragonboat
// "soft settings".
//
// dragonboat sizes its connections to each peer and each replica's queues
// by soft settings that it reads from one place only: a file named
// dragonboat-soft-settings.json in the process's working directory, while
// its packages initialise, before main runs. Its defaults suit a server with
// gigabytes to spare: four TCP connections to each peer with a queue of
// 2048 messages each, and per replica a proposal queue of 2048 entries and
// a receive queue of 1024 messages, each twice over. With Settings instead,
// an idle node of a 3-node cluster (small profile) held 39–40 MiB, not
// 43–52, when it still ran dragonboat's own transport (whose 2 MiB send
// buffer per connection was a setting too; Parley's transport,
// internal/rafttcp, sizes its buffers by the traffic).
//
// Apply, the first call in main, writes the file into a fresh temporary
// directory and re-executes the binary there: the same process id,
// arguments and environment. In the new image, dragonboat reads the file,
// and Apply returns to the original working directory and removes the
// temporary one. dragonboat logs each value it sets while it initialises,
// to stderr and in its own format; the new image's stderr is /dev/null until
// Apply restores it, so a node's log stays in the format it was asked for.
package softsettings

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// Settings are the soft settings Parley's processes run with, by the name
// of dragonboat's field.
var Settings = map[string]uint64{
	// One TCP connection to each peer instead of four. Raft messages of
	// all shards to a peer then go out in one batch per step, one TLS
	// write and one wakeup on the receiving side, instead of up to four.
	"StreamConnections": 1,
	// Proposals a replica queues before it answers busy (default 2048):
	// a node proposes at most a few batches per shard at a time, and a
	// busy proposal is retried.
	"IncomingProposalQueueLength": 512,
	// Messages from peers a replica queues between two steps (default
	// 1024).
	"ReceiveQueueLength": 256,
	// Messages queued for each peer connection (default 2048).
	"SendQueueLength": 512,
}

// fileName is where dragonboat looks for its soft settings.
const fileName = "dragonboat-soft-settings.json"

// The environment tells the re-executed image what to undo: the original
// working directory, the temporary one, and the descriptor of the real
// stderr.
const (
	envCwd    = "PARLEY_SOFTSETTINGS_CWD"
	envTmp    = "PARLEY_SOFTSETTINGS_TMP"
	envStderr = "PARLEY_SOFTSETTINGS_STDERR"
)

// Apply makes the process run with Settings (see the package comment). In
// the first image it returns only if the re-execution failed, with why;
// the process then runs with dragonboat's defaults, which works, with more
// memory.
func Apply() error {
	if fd, ok := os.LookupEnv(envStderr); ok {
		return resume(fd, os.Getenv(envCwd), os.Getenv(envTmp))
	}
	return reexec()
}

// resume is Apply in the re-executed image.
func resume(stderr, cwd, tmp string) error {
	for _, k := range []string{envCwd, envTmp, envStderr} {
		os.Unsetenv(k)
	}
	fd, err := strconv.Atoi(stderr)
	if err != nil || fd <= 2 || cwd == "" || tmp == "" {
		return fmt.Errorf("soft settings: malformed %s=%q, %s=%q, %s=%q", envStderr, stderr, envCwd, cwd, envTmp, tmp)
	}
	// Restore stderr first: whatever fails next must be seen.
	serr := syscall.Dup3(fd, 2, 0)
	syscall.Close(fd)
	if serr != nil {
		return fmt.Errorf("soft settings: restore stderr: %w", serr)
	}
	err = os.Chdir(cwd)
	if rerr := os.RemoveAll(tmp); err == nil && rerr != nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("soft settings: %w", err)
	}
	return nil
}

// reexec writes the settings file into a fresh directory and executes the
// binary again there. It returns only if that failed, having undone what
// it did.
func reexec() error {
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("soft settings: %w", err)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("soft settings: %w", err)
	}
	data, err := json.Marshal(Settings)
	if err != nil {
		return fmt.Errorf("soft settings: %w", err)
	}
	tmp, err := os.MkdirTemp("", "parley-dragonboat-")
	if err != nil {
		return fmt.Errorf("soft settings: %w", err)
	}
	undo := []func(){func() { os.RemoveAll(tmp) }}
	fail := func(err error) error {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		return fmt.Errorf("soft settings: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, fileName), data, 0o600); err != nil {
		return fail(err)
	}
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return fail(err)
	}
	defer null.Close()
	// A duplicate without close-on-exec: the new image inherits it.
	saved, err := syscall.Dup(2)
	if err != nil {
		return fail(err)
	}
	undo = append(undo, func() { syscall.Close(saved) })
	if err := os.Chdir(tmp); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { os.Chdir(cwd) })
	if err := syscall.Dup3(int(null.Fd()), 2, 0); err != nil {
		return fail(err)
	}
	undo = append(undo, func() { syscall.Dup3(saved, 2, 0) })
	env := append(os.Environ(), envCwd+"="+cwd, envTmp+"="+tmp, envStderr+"="+strconv.Itoa(saved))
	err = syscall.Exec(exe, os.Args, env)
	return fail(fmt.Errorf("re-execute %s: %w", exe, err))
}
