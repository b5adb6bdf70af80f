// Package chatcoretest builds real Parley clusters for tests: real dragonboat
// NodeHosts on real disks, talking mutual TLS over loopback.
package chatcoretest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/placement"
)

// Cluster is a set of in-process nodes of one cluster.
type Cluster struct {
	t      testing.TB
	Nodes  []*chatcore.Node
	Cfgs   []chatcore.Config
	Shards int
	opts   Options
	base   string
	peers  registryPeers
}

// registryPeers lets the cluster's nodes ask each other what the registry
// says of them (chatcore.RegistryPeer), in process: a call holds the read
// lock, so a node stops only once no question to it is in flight.
type registryPeers struct {
	mu    sync.RWMutex
	nodes map[uint64]*chatcore.Node
}

func (p *registryPeers) set(n *chatcore.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.nodes == nil {
		p.nodes = make(map[uint64]*chatcore.Node)
	}
	p.nodes[n.ID()] = n
	n.SetRegistryPeer(p)
}

func (p *registryPeers) drop(n *chatcore.Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.nodes, n.ID())
}

// RegistryMember asks the running node peer.
func (p *registryPeers) RegistryMember(ctx context.Context, peer chatcore.NodeRecord, node uint64) (chatcore.RegistryMember, error) {
	p.mu.RLock()
	defer p.mu.RUnlock()
	n := p.nodes[peer.ID]
	if n == nil {
		return chatcore.RegistryMember{}, fmt.Errorf("node %d is not running", peer.ID)
	}
	return n.RegistryMemberOf(ctx, node)
}

// Options tune StartCluster.
type Options struct {
	// Shards is the number of room shards (default 4: enough to be
	// multi-shard, few enough to start fast).
	Shards int
	// Replicas is the voters per room shard (default 3).
	Replicas int
	// DeadAfter is the cluster's dead-after (default chatcore's).
	DeadAfter time.Duration
	// Dir, if set, holds the nodes' data directories n1, n2, …
	// (default: a temporary directory of the test's).
	Dir string
	// Argon and Quotas are the cluster's settings (see
	// chatcore.Config).
	Argon  string
	Quotas chatcore.Quotas
	// Observer, if set, hears every node's proposals, sends and
	// deliveries (see chatcore.Config).
	Observer chatcore.Observer
}

// StartCluster starts n nodes on 127.0.0.1, creates the cluster on the
// first (chatcore.Start), joins the others through it (chatcore.Join), and
// waits until every shard has min(n, 3) voters on every node's view. Nodes
// are closed when the test ends.
func StartCluster(t testing.TB, n int, opts ...Options) *Cluster {
	t.Helper()
	o := Options{Shards: 4}
	if len(opts) > 0 {
		o = opts[0]
		if o.Shards <= 0 {
			o.Shards = 4
		}
	}
	base := o.Dir
	if base == "" {
		base = t.TempDir()
	}
	c := &Cluster{t: t, Shards: o.Shards, opts: o, base: base}
	t.Cleanup(c.Close)
	for i := 0; i < n; i++ {
		c.AddNode()
	}
	c.WaitFormed(60 * time.Second)
	return c
}

// AddNode starts one more node: the first creates the cluster
// (chatcore.Start), the others join it through the first running node
// (chatcore.Join). It returns the new node's index.
func (c *Cluster) AddNode() int {
	t := c.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	i := len(c.Nodes)
	cfg := chatcore.Config{
		DataDir:    filepath.Join(c.base, fmt.Sprintf("n%d", i+1)),
		Name:       fmt.Sprintf("n%d", i+1),
		RaftAddr:   FreeAddr(t),
		ClientAddr: fmt.Sprintf("127.0.0.1:%d", 17400+i),
		Profile:    chatcore.ProfileSmall,
		Logger:     testLogger(),
		Observer:   c.opts.Observer,
	}
	var node *chatcore.Node
	var err error
	if i == 0 {
		cfg.Shards, cfg.Replicas, cfg.DeadAfter = c.opts.Shards, c.opts.Replicas, c.opts.DeadAfter
		cfg.Argon, cfg.Quotas = c.opts.Argon, c.opts.Quotas
		node, err = chatcore.Start(ctx, cfg)
	} else {
		node, err = chatcore.Join(ctx, cfg, c.Any())
	}
	if err != nil {
		t.Fatalf("start node %d: %v", i+1, err)
	}
	c.Nodes = append(c.Nodes, node)
	c.Cfgs = append(c.Cfgs, cfg)
	c.peers.set(node)
	return i
}

// Any returns the first running node.
func (c *Cluster) Any() *chatcore.Node {
	for _, n := range c.Nodes {
		if n != nil {
			return n
		}
	}
	c.t.Fatal("no node is running")
	return nil
}

// WaitFormed waits until every running node sees every shard with
// min(running nodes, replicas) voters (placement.RegistryVoterCount for the
// registry) and a leader.
func (c *Cluster) WaitFormed(timeout time.Duration) {
	c.t.Helper()
	r := c.opts.Replicas
	if r == 0 {
		r = placement.DefaultReplication
	}
	want := min(c.running(), r)
	WaitFor(c.t, timeout, func() error {
		for i, node := range c.Nodes {
			if node == nil {
				continue
			}
			st, err := node.Status(context.Background())
			if err != nil {
				return err
			}
			if len(st.Shards) != c.Shards+1 {
				return fmt.Errorf("node %d sees %d shards", i+1, len(st.Shards))
			}
			for _, s := range st.Shards {
				w := want
				if s.ID == placement.RegistryShard {
					w = placement.RegistryVoterCount(c.running())
				}
				if len(s.Replicas) != w || s.Leader == 0 {
					return fmt.Errorf("node %d: shard %d: voters %v leader %d", i+1, s.ID, s.Replicas, s.Leader)
				}
			}
		}
		return nil
	})
}

// running counts the nodes not stopped.
func (c *Cluster) running() int {
	k := 0
	for _, n := range c.Nodes {
		if n != nil {
			k++
		}
	}
	return k
}

// Stop closes node i (a clean stop; its data stays).
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	if c.Nodes[i] != nil {
		c.peers.drop(c.Nodes[i])
		if err := c.Nodes[i].Close(); err != nil {
			c.t.Errorf("close node %d: %v", i+1, err)
		}
		c.Nodes[i] = nil
	}
}

// Restart reopens node i from its data dir.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	node, err := chatcore.Open(ctx, c.Cfgs[i])
	if err != nil {
		c.t.Fatalf("restart node %d: %v", i+1, err)
	}
	c.Nodes[i] = node
	c.peers.set(node)
}

// Close stops every node.
func (c *Cluster) Close() {
	for i := range c.Nodes {
		c.Stop(i)
	}
}

// WaitFor polls cond until it returns nil or timeout passes, then fails the
// test with cond's last error.
func WaitFor(t testing.TB, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond) // polling interval, not synchronisation
	}
}

// FreeAddr returns a free 127.0.0.1 address for a node's Raft port. It
// comes from internal/freeport, below the kernel's ephemeral range: a port
// the OS picked there could be given to another test's outgoing connection
// before the node binds it.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("PARLEY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// SortedIDs returns ids sorted, for comparisons.
func SortedIDs(ids []uint64) []uint64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}
