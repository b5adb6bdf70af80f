package e2e

import (
	"bufio"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

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
