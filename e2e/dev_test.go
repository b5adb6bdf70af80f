package e2e

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/internal/proc"
)

// devReady is the line parleyd dev prints once every node is up.
const devReady = "Ctrl-C stops every node"

// devSpan is how many ports from --base-port a dev cluster uses: node i
// takes P+10i and P+10i+1, and P+80+i for HTTP.
const devSpan = 91

// TestDevCluster runs "parleyd dev --nodes 3", waits until it says every
// node is up, sends a message through it, interrupts it with SIGINT, and
// checks that it exits 0 having stopped its three children cleanly: none
// is left running, and none exited with an error.
func TestDevCluster(t *testing.T) {
	base, err := freeport.Range(devSpan)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "dev")
	cmd := exec.Command(parleydBin, "dev", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	dev, err := proc.Run("parleyd dev", cmd)
	if err != nil {
		t.Fatal(err)
	}
	out := &lineLog{ready: make(chan struct{})}
	go out.read(bufio.NewScanner(stdout))

	var children []int
	t.Cleanup(func() {
		// The children have process groups of their own and outlive a
		// killed dev: find them first, kill them after it.
		if !dev.Exited() {
			more, _ := childPids(dev.Pid())
			children = append(children, more...)
		}
		dev.Kill()
		for _, pid := range children {
			if pidAlive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if t.Failed() {
			t.Logf("parleyd dev stdout, last lines:\n%s\nstderr:\n%s", out.tail(80), stderr.String())
		}
	})

	select {
	case <-out.ready:
	case <-dev.Done():
		t.Fatalf("parleyd dev exited before it was ready: %v", dev.Err())
	case <-time.After(2 * startTimeout):
		t.Fatalf("parleyd dev did not print %q within %v", devReady, 2*startTimeout)
	}
	children, err = childPids(dev.Pid())
	if err != nil {
		t.Fatal(err)
	}
	if len(children) != 3 {
		t.Fatalf("parleyd dev runs %d child processes (%v), want 3", len(children), children)
	}
	t.Logf("dev cluster up on ports %d..%d, children %v", base, base+devSpan-1, children)
	checkNoTokenInArgs(t, filepath.Join(dir, "n1"), children)

	ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
	defer cancel()
	servers := []string{fmt.Sprintf("127.0.0.1:%d", base), fmt.Sprintf("127.0.0.1:%d", base+10), fmt.Sprintf("127.0.0.1:%d", base+20)}
	cl, err := client.Dial(ctx, client.Options{
		Servers: servers, User: "devuser", Password: password,
		KnownClustersPath: filepath.Join(t.TempDir(), "known_clusters"),
	})
	if err != nil {
		t.Fatalf("dial the dev cluster: %v", err)
	}
	res, err := cl.Send(ctx, "general", "hello, dev cluster")
	if err != nil {
		t.Fatalf("send through the dev cluster: %v", err)
	}
	h, err := cl.History(ctx, "general", client.HistoryOptions{MinSeq: res.Seq, Last: 1})
	if err != nil || len(h) != 1 || h[0].ID != res.ID || h[0].Text != "hello, dev cluster" {
		t.Fatalf("history after the send: %v, %v; want the message sent", h, err)
	}
	cl.Close()

	if err := dev.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// dev stops its nodes one after another, waiting up to 20 s for each.
	if err := dev.Wait(90 * time.Second); err != nil {
		t.Fatalf("after SIGINT: %v", err)
	}
	if code := dev.ExitCode(); code != 0 {
		t.Errorf("parleyd dev exited %d after SIGINT, want 0", code)
	}
	waitFor(t, 10*time.Second, "every dev node gone", func() error {
		for _, pid := range children {
			if pidAlive(pid) {
				return fmt.Errorf("child pid %d still runs after parleyd dev exited", pid)
			}
		}
		return nil
	})
	if s := stderr.String(); strings.Contains(s, "exited") {
		t.Errorf("a dev node did not stop cleanly:\n%s", s)
	}
}

// lineLog keeps a command's output lines, and closes ready when the line
// devReady appears.
type lineLog struct {
	ready chan struct{}

	mu    sync.Mutex
	lines []string
}

// read consumes sc to its end; the command never blocks on its output.
func (l *lineLog) read(sc *bufio.Scanner) {
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	seen := false
	for sc.Scan() {
		line := sc.Text()
		l.mu.Lock()
		l.lines = append(l.lines, line)
		l.mu.Unlock()
		if !seen && strings.Contains(line, devReady) {
			seen = true
			close(l.ready)
		}
	}
}

// tail returns the last n lines.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// checkNoTokenInArgs fails t if the command line of any of pids, which ps
// shows every user, holds the join token of the node in dataDir.
func checkNoTokenInArgs(t *testing.T, dataDir string, pids []int) {
	t.Helper()
	b, err := os.ReadFile(chatcore.DataLayout(dataDir).JoinToken())
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	secret, _, _ := strings.Cut(token, ".")
	if len(secret) < 16 {
		t.Fatalf("join token %q: no secret part", token)
	}
	for _, pid := range pids {
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			t.Fatalf("pid %d: %v", pid, err)
		}
		args := strings.ReplaceAll(string(cmdline), "\x00", " ")
		if strings.Contains(args, secret) || strings.Contains(args, "--token ") {
			t.Errorf("pid %d has the join token on its command line: %s", pid, args)
		}
	}
}

// TestDevPortsTaken starts "parleyd dev" on ports where something that
// looks like an older node already answers /healthz (n1's HTTP port), and
// checks that dev fails at once with a message that says so, and leaves
// no node running. Before, dev took the old node's answer for its own and
// reported a running cluster.
func TestDevPortsTaken(t *testing.T) {
	base, err := freeport.Range(devSpan)
	if err != nil {
		t.Fatal(err)
	}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", base+80)
	ln, err := net.Listen("tcp", httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	oldPid := os.Getpid() // the "old node" is this test process
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"status":"ok","node":1,"cluster":"old","clients":"127.0.0.1:%d","pid":%d}`, base, oldPid)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	dir := filepath.Join(t.TempDir(), "dev")
	cmd := exec.Command(parleydBin, "dev", "--nodes", "3", "--dir", dir, "--base-port", strconv.Itoa(base))
	var stdout, stderr lockedBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	dev, err := proc.Run("parleyd dev", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		dev.Kill()
		if t.Failed() {
			t.Logf("parleyd dev stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
		}
	})
	if err := dev.Wait(2 * startTimeout); err != nil {
		t.Fatalf("parleyd dev on taken ports: %v", err)
	}
	if code := dev.ExitCode(); code != 1 {
		t.Errorf("parleyd dev on taken ports exited %d, want 1", code)
	}
	msg := stderr.String()
	for _, want := range []string{fmt.Sprintf("pid %d answers", oldPid), "another cluster", "--base-port"} {
		if !strings.Contains(msg, want) {
			t.Errorf("parleyd dev's error %q does not say %q", msg, want)
		}
	}
	if strings.Contains(stdout.String(), devReady) {
		t.Errorf("parleyd dev printed %q on taken ports", devReady)
	}
	waitFor(t, 30*time.Second, "no dev node left", func() error {
		if pids := pidsWithArg(dir); len(pids) > 0 {
			return fmt.Errorf("processes %v still run on %s", pids, dir)
		}
		return nil
	})
}

// pidsWithArg returns the pids of the live processes one of whose
// arguments contains s.
func pidsWithArg(s string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && strings.Contains(string(b), s) && pidAlive(pid) {
			out = append(out, pid)
		}
	}
	return out
}
