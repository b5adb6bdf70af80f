package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
)

// mountTmpfs mounts a tmpfs of sizeMiB at dir for the test, and unmounts it
// when the test ends. It fails the test if it cannot: the test needs root.
func mountTmpfs(t *testing.T, dir string, sizeMiB int) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%dm,mode=0700", sizeMiB), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("mount a %d MiB tmpfs at %s (this test needs root): %v: %s", sizeMiB, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
}

// healthz returns n's /healthz status code and body.
func healthz(n *Node) (int, string, error) {
	resp, err := http.Get("http://" + n.HTTP + "/healthz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// TestDiskFull: a node whose data dir's file system runs out of space
// stops taking writes before its Raft log store fails (which would stop
// the process), says why in its refusals and in a 503 /healthz, logs it
// once rather than in a flood, commits nothing it refused, and takes
// writes again by itself once space returns.
func TestDiskFull(t *testing.T) {
	root := t.TempDir()
	mountTmpfs(t, filepath.Join(root, "n1"), 64)
	c, err := newCluster(root, 1, "--min-free-disk", "16")
	if c != nil {
		t.Cleanup(func() {
			if t.Failed() {
				c.dumpLogs(t)
			}
			c.Close()
		})
	}
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	n := c.Nodes[0]
	const room = "disk"
	cl := c.Dial(t, "dora", n.Client)
	ctx, cancel := opContext()
	defer cancel()
	before, err := cl.Send(ctx, room, "before")
	if err != nil {
		t.Fatal(err)
	}

	// Fill the file system to 8 MiB free: under the node's 16 MiB floor.
	var st syscall.Statfs_t
	if err := syscall.Statfs(n.Data, &st); err != nil {
		t.Fatal(err)
	}
	free := int64(st.Bavail) * st.Bsize
	filler := filepath.Join(n.Data, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(make([]byte, free-8<<20)); err != nil {
		t.Fatalf("fill the disk: %v", err)
	}
	f.Close()

	waitFor(t, 30*time.Second, "/healthz answers 503", func() error {
		code, body, err := healthz(n)
		if err != nil {
			return err
		}
		if code != http.StatusServiceUnavailable || !strings.Contains(body, "disk nearly full") {
			return fmt.Errorf("healthz: %d %v", code, body)
		}
		return nil
	})

	sctx, scancel := context.WithTimeout(ctx, 3*time.Second)
	_, err = cl.Send(sctx, room, "while full")
	scancel()
	if !errors.Is(err, client.ErrOutcomeUnknown) || !strings.Contains(err.Error(), "disk nearly full") {
		t.Fatalf("send to a full node: %v, want unavailable saying the disk is nearly full", err)
	}
	cli := c.cli(t, "dora")
	cli.servers = []string{n.Client}
	res := cli.run(t, "", "send", "--timeout", "3s", "--room", room, "while full")
	if res.code == 0 || !strings.Contains(res.stderr, "disk nearly full") {
		t.Fatalf("parley send to a full node: exit %d, stderr %q", res.code, res.stderr)
	}
	if p := n.Proc(); p == nil || p.Exited() {
		t.Fatalf("the node died on a full disk")
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "/healthz answers 200 again", func() error {
		code, body, err := healthz(n)
		if err != nil {
			return err
		}
		if code != http.StatusOK {
			return fmt.Errorf("healthz: %d %v", code, body)
		}
		return nil
	})
	after, err := cl.Send(ctx, room, "after")
	if err != nil {
		t.Fatalf("send once space returned: %v", err)
	}
	msgs, err := cl.History(ctx, room, client.HistoryOptions{From: 1})
	if err != nil {
		t.Fatal(err)
	}
	var texts []string
	for _, m := range msgs {
		if m.Kind == "" {
			texts = append(texts, m.Text)
		}
	}
	if strings.Join(texts, ",") != "before,after" || after.Seq != before.Seq+1 {
		t.Fatalf("history %q (seqs %d, %d), want before,after: a refused send was committed", texts, before.Seq, after.Seq)
	}

	log, err := os.ReadFile(n.Log)
	if err != nil {
		t.Fatal(err)
	}
	if k := strings.Count(string(log), "refusing writes"); k < 1 || k > 3 {
		t.Fatalf("the log says %d times that writes are refused, want once (or once a minute):\n%s", k, proc.Tail(n.Log, 30))
	}
}
