package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/proc"
)

// cliTimeout bounds one run of the parley CLI.
const cliTimeout = 60 * time.Second

// cliEnv is the environment one user's parley commands run in: the
// cluster's addresses, the user's credentials and a config directory of its
// own (so known_clusters is the user's own).
type cliEnv struct {
	servers    []string
	user       string
	password   string
	configHome string
	// extra are more NAME=value settings for the command's environment.
	extra []string
}

// cli returns the environment of user with the right password and a fresh
// config directory.
func (c *Cluster) cli(t testing.TB, user string) cliEnv {
	t.Helper()
	return cliEnv{servers: c.Addrs(), user: user, password: password, configHome: t.TempDir()}
}

// knownClustersPath is where parley keeps its pins in this environment.
func (e cliEnv) knownClustersPath() string {
	return filepath.Join(e.configHome, "parley", "known_clusters")
}

// environ returns the process environment of a parley command: the test's
// own, without any PARLEY_ setting, with this user's.
func (e cliEnv) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PARLEY_") || strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			continue
		}
		env = append(env, kv)
	}
	return append(append(env,
		"PARLEY_SERVER="+strings.Join(e.servers, ","),
		"PARLEY_USER="+e.user,
		"PARLEY_PASSWORD="+e.password,
		"XDG_CONFIG_HOME="+e.configHome,
	), e.extra...)
}

// cliResult is what a finished parley command printed and returned.
type cliResult struct {
	stdout, stderr string
	code           int
}

// run runs parley with args and stdin and waits for it.
func (e cliEnv) run(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, parleyBin, args...)
	cmd.Env = e.environ()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("parley %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("parley %s: still running after %v; stderr:\n%s", strings.Join(args, " "), cliTimeout, errb.String())
	}
	r := cliResult{stdout: out.String(), stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	t.Logf("parley %s: exit %d", strings.Join(args, " "), r.code)
	return r
}

// mustRun runs parley and fails the test unless it exits 0.
func (e cliEnv) mustRun(t testing.TB, stdin string, args ...string) cliResult {
	t.Helper()
	r := e.run(t, stdin, args...)
	if r.code != 0 {
		t.Fatalf("parley %s: exit %d, stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r
}

// lineReader is a running parley command whose stdout is read line by
// line as it comes.
type lineReader struct {
	p      *proc.Proc
	lines  chan string
	stderr lockedBuffer
}

// start starts parley with args; its stdout lines arrive on lines.
func (e cliEnv) start(t testing.TB, args ...string) *lineReader {
	t.Helper()
	cmd := exec.Command(parleyBin, args...)
	cmd.Env = e.environ()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	lr := &lineReader{lines: make(chan string, 1024)}
	cmd.Stderr = &lr.stderr
	p, err := proc.Run("parley", cmd)
	if err != nil {
		t.Fatal(err)
	}
	lr.p = p
	t.Cleanup(func() { p.Kill() })
	go func() {
		defer close(lr.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lr.lines <- sc.Text()
		}
	}()
	return lr
}

// next returns the next stdout line, failing the test if none comes within
// opTimeout or the output ends.
func (lr *lineReader) next(t testing.TB) string {
	t.Helper()
	return lr.nextWithin(t, opTimeout)
}

// nextWithin is next with a timeout of the caller's.
func (lr *lineReader) nextWithin(t testing.TB, timeout time.Duration) string {
	t.Helper()
	select {
	case l, ok := <-lr.lines:
		if !ok {
			t.Fatalf("output ended; stderr:\n%s", lr.stderr.String())
		}
		return l
	case <-time.After(timeout):
		t.Fatalf("no line within %v; stderr:\n%s", timeout, lr.stderr.String())
	}
	return ""
}

// interrupt sends SIGINT, waits for the command to exit, and returns its
// exit code and the stdout lines it printed after those already read.
func (lr *lineReader) interrupt(t testing.TB) (int, []string) {
	t.Helper()
	if err := lr.p.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := lr.p.Wait(cliTimeout); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
	var rest []string
	for l := range lr.lines {
		rest = append(rest, l)
	}
	return lr.p.ExitCode(), rest
}

// lockedBuffer collects a process's output; it may be read while the
// process writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// uniq returns prefix with a random suffix: a name no earlier run of a test
// on the shared cluster has used.
func uniq(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}
