package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/internal/proccluster"
	"github.com/parleychat/parley/placement"
)

// The shape of every cluster the tests start, and the harness's bounds.
const (
	clusterSize = 3
	roomShards  = 8
	// password is every test user's password.
	password = "e2e-password"
	// pollInterval is the pause between two checks of a polled condition.
	pollInterval = 100 * time.Millisecond
	// opTimeout bounds one SDK call made by the harness.
	opTimeout = 20 * time.Second
	// startTimeout bounds a node's start until /healthz answers.
	startTimeout = 90 * time.Second
	// settleTimeout bounds waiting for a cluster to be formed or for the
	// nodes' histories to agree.
	settleTimeout = 90 * time.Second
	// logTail is how many lines of each node's log a failure prints.
	logTail = 60
)

// Node is one parleyd process of a Cluster.
type Node = proccluster.Node

// launcher starts the nodes, with "e2e" in their logs' start lines.
var launcher = proc.Launcher{Tag: "e2e"}

// waitHealthy polls n's /healthz until it answers 200 and n learns its id.
// It gives up at once if the process exits, if the node advertises
// another client address than its own, or if its id changed across a
// restart.
func waitHealthy(n *Node, timeout time.Duration) error {
	return poll(timeout, func() error {
		p := n.Proc()
		if p == nil {
			return permanent(fmt.Errorf("%s: not started", n.Name))
		}
		if p.Exited() {
			return permanent(fmt.Errorf("%s exited while starting: %v\n%s", n.Name, p.Err(), proc.Tail(n.Log, logTail)))
		}
		return n.CheckHealthy(context.Background(), func(h proccluster.Health) error {
			if h.Clients != n.Client {
				return permanent(fmt.Errorf("%s: healthz: advertises clients at %s, want %s", n.Name, h.Clients, n.Client))
			}
			if id := n.ID(); id != 0 && id != h.Node {
				return permanent(fmt.Errorf("%s: node id changed from %d to %d across a restart", n.Name, id, h.Node))
			}
			return nil
		})
	})
}

// Cluster is a set of parleyd processes on 127.0.0.1 that form one Parley
// cluster.
type Cluster struct {
	*proccluster.Cluster
	// Probes are the harness's own clients, one per node, for per-node
	// views (StatusOn, HistoryOn).
	*proccluster.Probes
	Root string

	mu    sync.Mutex
	dials int // numbers the clients' known_clusters files
}

// startCluster starts a cluster of its own for test t (its nodes get args
// as well), under t's temporary
// directory, and kills it when t ends; its nodes' logs are printed if t
// failed.
func startCluster(t *testing.T, args ...string) *Cluster {
	t.Helper()
	c, err := newCluster(t.TempDir(), clusterSize, args...)
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
	t.Logf("cluster up: %s", c)
	return c
}

// newCluster starts size nodes under root: n1 bootstraps the cluster, the
// others join it one after another, each once the previous one answers
// /healthz. It returns when the cluster is formed (see formed). On error
// the returned Cluster, if not nil, holds whatever was started.
func newCluster(root string, size int, args ...string) (*Cluster, error) {
	c := &Cluster{Root: root}
	c.Probes = proccluster.NewProbes(func(ctx context.Context, n *Node) (*client.Client, error) {
		return c.dial(ctx, "probe", []string{n.Client})
	})
	pc, err := proccluster.Start(proccluster.Config{
		Parleyd:  parleydBin,
		Dir:      root,
		Size:     size,
		Profile:  "small",
		Shards:   roomShards,
		Args:     args,
		Launcher: launcher,
	}, func(n *Node) error { return waitHealthy(n, startTimeout) })
	if pc == nil {
		return nil, err
	}
	c.Cluster = pc
	if err != nil {
		return c, err
	}
	err = poll(settleTimeout, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		return c.formed(ctx)
	})
	if err != nil {
		return c, fmt.Errorf("cluster not formed: %w", err)
	}
	return c, nil
}

// String lists the nodes: "n1=node 1 127.0.0.1:20001, ...".
func (c *Cluster) String() string {
	var parts []string
	for _, n := range c.Nodes {
		parts = append(parts, fmt.Sprintf("%s=node %d %s", n.Name, n.ID(), n.Client))
	}
	return strings.Join(parts, ", ")
}

// Close closes the harness's clients and kills every node.
func (c *Cluster) Close() {
	c.Probes.Close()
	for _, n := range c.Nodes {
		if p := n.Proc(); p != nil {
			p.Kill()
		}
	}
}

// dumpLogs prints the tail of every node's log.
func (c *Cluster) dumpLogs(t testing.TB) {
	t.Helper()
	for _, n := range c.Nodes {
		t.Logf("--- %s log %s, last %d lines:\n%s", n, n.Log, logTail, proc.Tail(n.Log, logTail))
	}
}

// Addrs returns every node's client address, n1 first.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Client
	}
	return out
}

// nodeIDs returns the registry ids of the nodes, sorted.
func (c *Cluster) nodeIDs() []uint64 {
	ids := make([]uint64, len(c.Nodes))
	for i, n := range c.Nodes {
		ids[i] = n.ID()
	}
	slices.Sort(ids)
	return ids
}

// ShardOf returns the room shard that holds room.
func ShardOf(room string) uint64 {
	return placement.NewRing(placement.RoomShards(roomShards)).Shard(room)
}

// knownClustersPath returns a fresh known_clusters path for one client, so
// that no two clients share pins.
func (c *Cluster) knownClustersPath(user string) string {
	c.mu.Lock()
	c.dials++
	d := c.dials
	c.mu.Unlock()
	return filepath.Join(c.Root, "clients", fmt.Sprintf("%s-%d", user, d), "known_clusters")
}

// dial connects an SDK client as user (password password) to servers, with
// a known_clusters file of its own.
func (c *Cluster) dial(ctx context.Context, user string, servers []string) (*client.Client, error) {
	cl, err := client.Dial(ctx, client.Options{
		Servers:           servers,
		User:              user,
		Password:          password,
		KnownClustersPath: c.knownClustersPath(user),
	})
	if err != nil {
		return nil, fmt.Errorf("dial %v as %s: %w", servers, user, err)
	}
	return cl, nil
}

// Dial connects an SDK client as user to servers (every node if none) and
// closes it when t ends.
func (c *Cluster) Dial(t testing.TB, user string, servers ...string) *client.Client {
	t.Helper()
	if len(servers) == 0 {
		servers = c.Addrs()
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	cl, err := c.dial(ctx, user, servers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	return cl
}

// DialVia connects an SDK client as user that knows every node but is
// connected to n first. Dial starts at a random server, so it dials again
// (a few times at most) until it lands on n.
func (c *Cluster) DialVia(t testing.TB, user string, n *Node) *client.Client {
	t.Helper()
	for try := 0; ; try++ {
		cl := c.Dial(t, user)
		if cl.Node().Addr == n.Client || try == 15 {
			if cl.Node().Addr != n.Client {
				t.Logf("%s connected to %s, not %s", user, cl.Node().Addr, n)
			}
			return cl
		}
		cl.Close()
	}
}

// formed checks, on every live node's view, that the registry lists every
// node and that every shard has every node as a voter and a live leader.
func (c *Cluster) formed(ctx context.Context) error {
	ids := c.nodeIDs()
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		st, err := c.StatusOn(ctx, n)
		if err != nil {
			return err
		}
		var got []uint64
		for _, ni := range st.Nodes {
			got = append(got, ni.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			return fmt.Errorf("%s sees nodes %v, want %v", n.Name, got, ids)
		}
		if len(st.Shards) != roomShards+1 {
			return fmt.Errorf("%s sees %d shards, want %d", n.Name, len(st.Shards), roomShards+1)
		}
		for _, s := range st.Shards {
			if !slices.Equal(s.Replicas, ids) {
				return fmt.Errorf("%s: shard %d has voters %v, want %v", n.Name, s.ID, s.Replicas, ids)
			}
			if s.Leader == 0 {
				return fmt.Errorf("%s: shard %d has no leader", n.Name, s.ID)
			}
			if l := c.NodeByID(s.Leader); l == nil || !l.Alive() {
				return fmt.Errorf("%s: shard %d is led by node %d, which is down", n.Name, s.ID, s.Leader)
			}
		}
	}
	return nil
}

// WaitFormed waits until the cluster is formed on every live node's view.
func (c *Cluster) WaitFormed(t testing.TB) {
	t.Helper()
	waitFor(t, settleTimeout, "cluster formed", func() error {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		return c.formed(ctx)
	})
}

// LeaderOf returns the node that leads shard, once every live node agrees
// on one live leader.
func (c *Cluster) LeaderOf(t testing.TB, shard uint64) *Node {
	t.Helper()
	var leader *Node
	waitFor(t, settleTimeout, fmt.Sprintf("leader of shard %d", shard), func() error {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		var err error
		leader, err = c.Probes.Leader(ctx, c.Nodes, shard)
		return err
	})
	return leader
}

// Kill kills node n with SIGKILL and waits until it is gone.
func (c *Cluster) Kill(t testing.TB, n *Node) {
	t.Helper()
	c.Probes.Drop(n)
	t.Logf("kill -9 %s, pid %d", n, n.Proc().Pid())
	if err := n.Kill(); err != nil {
		t.Fatal(err)
	}
}

// Restart starts n again with the same arguments and waits for its
// /healthz.
func (c *Cluster) Restart(t testing.TB, n *Node) {
	t.Helper()
	c.start(t, n)
	if err := waitHealthy(n, startTimeout); err != nil {
		t.Fatal(err)
	}
}

// start starts n again without waiting for it.
func (c *Cluster) start(t testing.TB, n *Node) {
	t.Helper()
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	t.Logf("restarted %s, pid %d", n, n.Proc().Pid())
}

// Pause stops n with SIGSTOP.
func (c *Cluster) Pause(t testing.TB, n *Node) {
	t.Helper()
	c.Probes.Drop(n)
	if err := n.Pause(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGSTOP %s, pid %d", n, n.Proc().Pid())
}

// Resume continues n with SIGCONT.
func (c *Cluster) Resume(t testing.TB, n *Node) {
	t.Helper()
	if err := n.Resume(); err != nil {
		t.Fatal(err)
	}
	t.Logf("SIGCONT %s", n)
}

// Others returns the nodes other than n.
func (c *Cluster) Others(n *Node) []*Node {
	var out []*Node
	for _, m := range c.Nodes {
		if m != n {
			out = append(out, m)
		}
	}
	return out
}

// Live returns the nodes that run and are not stopped.
func (c *Cluster) Live() []*Node {
	var out []*Node
	for _, n := range c.Nodes {
		if n.Alive() {
			out = append(out, n)
		}
	}
	return out
}

// The cluster the tests without faults share, started by the first of them
// and stopped by TestMain.
var shared struct {
	mu   sync.Mutex
	c    *Cluster
	root string
	err  error
}

// sharedCluster returns the shared cluster, starting it on first use, and
// prints its logs if t fails.
func sharedCluster(t *testing.T) *Cluster {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c == nil && shared.err == nil {
		root, err := os.MkdirTemp("", "parley-e2e-shared-")
		if err != nil {
			t.Fatal(err)
		}
		shared.root = root
		shared.c, shared.err = newCluster(root, clusterSize)
		if shared.err == nil {
			t.Logf("shared cluster up: %s", shared.c)
		}
	}
	c := shared.c
	if c != nil {
		t.Cleanup(func() {
			if t.Failed() {
				c.dumpLogs(t)
			}
		})
	}
	if shared.err != nil {
		t.Fatalf("start shared cluster: %v", shared.err)
	}
	c.WaitFormed(t)
	return c
}

// stopSharedCluster kills the shared cluster and removes its files.
func stopSharedCluster() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.c != nil {
		shared.c.Close()
	}
	if shared.root != "" {
		os.RemoveAll(shared.root)
	}
}

// permanentError ends a poll at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// permanent marks err as one that waiting will not fix.
func permanent(err error) error { return permanentError{err} }

// poll calls f every pollInterval until it returns nil, returns a
// permanent error, or timeout passes; it then returns f's last error.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return nil
		}
		var pe permanentError
		if errors.As(err, &pe) {
			return pe.err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", timeout, err)
		}
		time.Sleep(pollInterval)
	}
}

// waitFor polls f like poll and fails the test if it never succeeds.
func waitFor(t testing.TB, timeout time.Duration, what string, f func() error) {
	t.Helper()
	if err := poll(timeout, f); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// opContext returns a context bounded by opTimeout.
func opContext() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), opTimeout)
}
