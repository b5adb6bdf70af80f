package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// lockedBuffer is a buffer a command may write while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines splits output into its lines.
func lines(s string) []string {
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// TestCommandsOnCluster runs every command against a real one-node
// cluster, with the CA pinned by --ca.
func TestCommandsOnCluster(t *testing.T) {
	// Nothing may touch the user's own known_clusters.
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	vars := map[string]string{envServer: cl.Addr(0), envUser: "alice", envPassword: "pw"}
	ca := cl.CAFile()

	// One message from the arguments.
	te := newTestEnv(t, vars)
	if code := te.run("send", "--ca", ca, "--room", "general", "hello", "world"); code != 0 {
		t.Fatalf("send: exit %d, stderr %q", code, te.errOut.String())
	}
	if ok, _ := regexp.MatchString(`^sent general#1 [0-9A-Z]{26}\n$`, te.out.String()); !ok {
		t.Fatalf("send printed %q", te.out.String())
	}

	// One message per non-blank line of stdin, as JSON.
	te = newTestEnv(t, vars)
	te.stdin = strings.NewReader("one\n\n  \ntwo\r\n")
	if code := te.run("send", "--ca", ca, "--room", "general", "--json"); code != 0 {
		t.Fatalf("send from stdin: exit %d, stderr %q", code, te.errOut.String())
	}
	out := lines(te.out.String())
	if len(out) != 2 {
		t.Fatalf("send from stdin printed %q, want 2 lines", te.out.String())
	}
	for i, l := range out {
		var r struct {
			Room string
			Seq  uint64
			ID   string
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Room != "general" || r.Seq != uint64(i+2) || r.ID == "" {
			t.Fatalf("send line %q: %+v %v", l, r, err)
		}
	}

	// The cluster CA, as the connection verified it.
	te = newTestEnv(t, vars)
	if code := te.run("ca", "--ca", ca); code != 0 {
		t.Fatalf("ca: exit %d, stderr %q", code, te.errOut.String())
	}
	if want, err := os.ReadFile(ca); err != nil || te.out.String() != string(want) {
		t.Fatalf("ca printed %q, want the CA file %q (%v)", te.out.String(), want, err)
	}

	// The history, plain and as JSON.
	te = newTestEnv(t, vars)
	if code := te.run("history", "--ca", ca, "--room", "general"); code != 0 {
		t.Fatalf("history: exit %d, stderr %q", code, te.errOut.String())
	}
	out = lines(te.out.String())
	if len(out) != 3 || !strings.HasSuffix(out[0], "] general#1 <alice> hello world") || !strings.HasSuffix(out[2], "] general#3 <alice> two") {
		t.Fatalf("history printed %q", te.out.String())
	}
	te = newTestEnv(t, vars)
	if code := te.run("history", "--ca", ca, "--room", "general", "--last", "2", "--json"); code != 0 {
		t.Fatalf("history --json: exit %d, stderr %q", code, te.errOut.String())
	}
	out = lines(te.out.String())
	for i, want := range []string{"one", "two"} {
		var m struct {
			Seq        uint64
			User, Text string
		}
		if len(out) != 2 || json.Unmarshal([]byte(out[i]), &m) != nil || m.Seq != uint64(i+2) || m.User != "alice" || m.Text != want {
			t.Fatalf("history --json printed %q", te.out.String())
		}
	}

	// The status.
	te = newTestEnv(t, vars)
	if code := te.run("status", "--ca", ca, "--json"); code != 0 {
		t.Fatalf("status: exit %d, stderr %q", code, te.errOut.String())
	}
	var st statusJSON
	if err := json.Unmarshal(te.out.Bytes(), &st); err != nil {
		t.Fatalf("status printed %q: %v", te.out.String(), err)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].Name != "n1" || st.Nodes[0].Addr != cl.Addr(0) || !st.Nodes[0].Up || len(st.Shards) != 3 {
		t.Fatalf("status = %+v", st)
	}
	for _, s := range st.Shards {
		if s.Leader != st.Nodes[0].ID {
			t.Fatalf("status shard %+v: want led by node %d", s, st.Nodes[0].ID)
		}
	}

	// tail: the last 2, then what comes, until interrupted (exit 0).
	te = newTestEnv(t, vars)
	var tailOut lockedBuffer
	te.stdout = &tailOut
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() { done <- run(ctx, &te.env, []string{"tail", "--ca", ca, "--room", "general", "--last", "2"}) }()
	waitLines := func(n int) {
		t.Helper()
		chatcoretest.WaitFor(t, 20*time.Second, func() error {
			if got := lines(tailOut.String()); len(got) < n || got[0] == "" {
				return fmt.Errorf("tail printed %q, want %d lines", tailOut.String(), n)
			}
			return nil
		})
	}
	waitLines(2)
	sender := newTestEnv(t, vars)
	if code := sender.run("send", "--ca", ca, "--room", "general", "live"); code != 0 {
		t.Fatalf("send: exit %d, stderr %q", code, sender.errOut.String())
	}
	waitLines(3)
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("interrupted tail: exit %d, stderr %q", code, te.errOut.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tail still runs after the interrupt")
	}
	out = lines(tailOut.String())
	if len(out) != 3 || !strings.HasSuffix(out[0], "general#2 <alice> one") || !strings.HasSuffix(out[2], "general#4 <alice> live") {
		t.Fatalf("tail printed %q", tailOut.String())
	}

	// Refusals: a wrong password, a CA that is not the cluster's.
	te = newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: "alice", envPassword: "wrong"})
	if code := te.run("status", "--ca", ca); code != 1 || !strings.HasPrefix(te.errOut.String(), "parley: unauthorized: ") {
		t.Fatalf("wrong password: exit %d, stderr %q", code, te.errOut.String())
	}
	otherCA, _, err := pki.NewCA("stranger")
	if err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(t.TempDir(), "other.pem")
	if err := os.WriteFile(other, otherCA, 0o600); err != nil {
		t.Fatal(err)
	}
	te = newTestEnv(t, vars)
	if code := te.run("status", "--ca", other); code != 1 || !strings.Contains(te.errOut.String(), transport.ErrUnknownCA.Error()) {
		t.Fatalf("another CA: exit %d, stderr %q", code, te.errOut.String())
	}
}

// TestAdminCommands: the first user to log in is the cluster's admin; a
// non-admin's admin commands are forbidden and change nothing; an admin
// grants, sets dead-after, and is refused a bad value or the last node.
func TestAdminCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	ca := cl.CAFile()
	as := func(user string) *testEnv {
		return newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: user, envPassword: "pw-" + user})
	}
	if te := as("root"); te.run("status", "--ca", ca) != 0 { // root logs in first: admin
		t.Fatalf("status: %s", te.errOut.String())
	}
	for _, args := range [][]string{{"remove-node", "n1"}, {"grant", "eve"}, {"set", "dead-after", "1h"}} {
		te := as("eve")
		if code := te.run(append([]string{"admin", "--ca", ca}, args...)...); code != 1 || !strings.Contains(te.errOut.String(), "forbidden") {
			t.Fatalf("eve's admin %v: exit %d, stderr %q", args, code, te.errOut.String())
		}
	}
	te := as("root")
	if code := te.run("admin", "--ca", ca, "grant", "eve"); code != 0 || !strings.Contains(te.out.String(), "eve is now an admin") {
		t.Fatalf("grant: exit %d, %q %q", code, te.out.String(), te.errOut.String())
	}
	te = as("eve")
	if code := te.run("admin", "--ca", ca, "set", "dead-after", "90s"); code != 0 || !strings.Contains(te.out.String(), "dead-after is now 1m30s") {
		t.Fatalf("set dead-after: exit %d, %q %q", code, te.out.String(), te.errOut.String())
	}
	for _, args := range [][]string{{"set", "dead-after", "10ms"}, {"set", "dead-after", "soon"}, {"remove-node", "n1"}, {"remove-node", "n9"}} {
		te := as("eve")
		if code := te.run(append([]string{"admin", "--ca", ca}, args...)...); code != 1 {
			t.Fatalf("admin %v: exit %d, stderr %q; want 1", args, code, te.errOut.String())
		}
	}
	for _, args := range [][]string{{}, {"frobnicate"}, {"grant"}, {"set", "replicas", "5"}} {
		te := as("eve")
		if code := te.run(append([]string{"admin", "--ca", ca}, args...)...); code != 2 {
			t.Fatalf("admin %v: exit %d, stderr %q; want a usage error", args, code, te.errOut.String())
		}
	}
	info, err := cl.Server(0).Node().ClusterInfo(context.Background())
	if err != nil || info.DeadAfterOrDefault() != 90*time.Second {
		t.Fatalf("dead-after %v, %v; want 1m30s", info.DeadAfter, err)
	}
}
