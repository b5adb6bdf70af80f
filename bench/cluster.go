package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/internal/proccluster"
	"github.com/parleychat/parley/placement"
)

// Cluster bounds.
const (
	// benchPassword is every benchmark user's password.
	benchPassword = "bench-password"
	// startTimeout bounds one node's start until /healthz answers.
	startTimeout = 2 * time.Minute
	// formTimeout bounds waiting for a cluster to be formed.
	formTimeout = 2 * time.Minute
	// opTimeout bounds one SDK call made by the harness itself.
	opTimeout = 30 * time.Second
	// dialParallel is how many clients log in at once: each login is an
	// argon2id hash on the node (19 MiB, tens of ms of CPU).
	dialParallel = 2
	// dialTimeout bounds the attempts to dial one client.
	dialTimeout = time.Minute
	// logTail is how many lines of a node's log an error carries.
	logTail = 30
)

// ClusterOptions configures StartCluster.
type ClusterOptions struct {
	// Parleyd is the path of the parleyd binary.
	Parleyd string
	// Dir holds the nodes' data and logs.
	Dir string
	// Nodes is the number of nodes (default 3).
	Nodes int
	// Shards is the number of room shards (default: the profile's,
	// chatcore.Profile.DefaultShards).
	Shards int
	// Profile is the nodes' memory profile, small or default.
	Profile string
	// Log receives progress messages.
	Log *slog.Logger
	// NodeLogLevel is the nodes' own --log-level (default warn); info
	// shows leader changes, transfers and moves in each node's log.
	NodeLogLevel string
}

// Node is one parleyd process of a Cluster.
type Node = proccluster.Node

// launcher starts the benchmark's processes: each in a process group of its
// own, so that Ctrl-C reaches only the benchmark, which then stops them.
var launcher = proc.Launcher{Tag: "bench", OwnGroup: true}

// waitHealthy polls n's /healthz until it answers 200 and n learns its id.
func waitHealthy(ctx context.Context, n *Node) error {
	return poll(ctx, startTimeout, n.Name+" healthy", func(ctx context.Context) error {
		if !n.Alive() {
			return errors.Join(fmt.Errorf("%s exited:\n%s", n.Name, proc.Tail(n.Log, logTail)), errPermanent)
		}
		return n.CheckHealthy(ctx, nil)
	})
}

// errPermanent, joined into a polled condition's error, ends the poll.
var errPermanent = errors.New("permanent")

// Cluster is a Parley cluster of parleyd processes on 127.0.0.1.
type Cluster struct {
	*proccluster.Cluster
	// Probes are the harness's own clients, one per node, for per-node
	// views (StatusOn, HistoryOn).
	*proccluster.Probes
	opts ClusterOptions

	users atomic.Int64
}

// StartCluster starts opts.Nodes parleyd processes: the first bootstraps a
// cluster, the others join it one after another. It returns once every
// node sees every node as a voter of every shard and each shard has a
// leader. On error it stops whatever it started.
func StartCluster(ctx context.Context, opts ClusterOptions) (*Cluster, error) {
	if opts.Nodes == 0 {
		opts.Nodes = 3
	}
	if opts.Profile == "" {
		opts.Profile = "default"
	}
	if opts.Shards == 0 {
		opts.Shards = profileShards(opts.Profile)
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.NodeLogLevel == "" {
		opts.NodeLogLevel = "warn"
	}
	c := &Cluster{opts: opts}
	c.Probes = proccluster.NewProbes(func(ctx context.Context, n *Node) (*client.Client, error) {
		return c.Dial(ctx, "probe", n)
	})
	pc, err := proccluster.Start(proccluster.Config{
		Parleyd:  opts.Parleyd,
		Dir:      opts.Dir,
		Size:     opts.Nodes,
		Profile:  opts.Profile,
		Shards:   opts.Shards,
		Args:     []string{"--log-level", opts.NodeLogLevel},
		Launcher: launcher,
	}, func(n *Node) error { return waitHealthy(ctx, n) })
	c.Cluster = pc
	if err == nil {
		err = c.WaitFormed(ctx)
	}
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

// Close closes the harness's clients and stops every node.
func (c *Cluster) Close() {
	c.Probes.Close()
	if c.Cluster == nil {
		return
	}
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		wg.Go(func() { n.Stop(10 * time.Second) })
	}
	wg.Wait()
}

// Shards returns the ids of the cluster's room shards.
func (c *Cluster) Shards() []uint64 {
	return placement.RoomShards(c.opts.Shards)
}

// ShardOf returns the room shard that holds room.
func (c *Cluster) ShardOf(room string) uint64 {
	return placement.NewRing(c.Shards()).Shard(room)
}

// Dial connects a new client, logged in as a fresh user, to node n first;
// it learns the other nodes from n and fails over to them by itself. A
// login costs the node an argon2id hash and, for a new user, a registry
// entry; on a busy machine that can outlast the SDK's handshake timeout,
// so a failed dial is tried again for up to dialTimeout.
func (c *Cluster) Dial(ctx context.Context, prefix string, n *Node) (*client.Client, error) {
	user := fmt.Sprintf("%s%d", prefix, c.users.Add(1))
	var cl *client.Client
	err := poll(ctx, dialTimeout, "dial "+n.Name+" as "+user, func(ctx context.Context) error {
		var err error
		cl, err = client.Dial(ctx, client.Options{
			Servers:  []string{n.Client},
			User:     user,
			Password: benchPassword,
			CAFile:   c.CAFile,
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return cl, nil
}

// DialMany dials count clients, client i to node nodes[i%len(nodes)], a few
// logins at a time. On error it closes those it dialed.
func (c *Cluster) DialMany(ctx context.Context, prefix string, count int, nodes []*Node) ([]*client.Client, error) {
	out := make([]*client.Client, count)
	errs := make([]error, count)
	sem := make(chan struct{}, dialParallel)
	var wg sync.WaitGroup
	for i := range count {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i], errs[i] = c.Dial(ctx, prefix, nodes[i%len(nodes)])
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		closeAll(out)
		return nil, err
	}
	return out, nil
}

// closeAll closes every non-nil client.
func closeAll(cls []*client.Client) {
	var wg sync.WaitGroup
	for _, cl := range cls {
		if cl != nil {
			wg.Go(func() { cl.Close() })
		}
	}
	wg.Wait()
}

// formed checks, on every live node's view, that every shard has min(N, 3)
// voters, all nodes of the cluster, on the voters its placement wants, and
// a live leader.
func (c *Cluster) formed(ctx context.Context) error {
	var ids []uint64
	for _, n := range c.Nodes {
		ids = append(ids, n.ID())
	}
	slices.Sort(ids)
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		st, err := c.StatusOn(octx, n)
		cancel()
		if err != nil {
			return err
		}
		if len(st.Shards) != c.opts.Shards+1 {
			return fmt.Errorf("%s sees %d shards, want %d", n.Name, len(st.Shards), c.opts.Shards+1)
		}
		for _, s := range st.Shards {
			got := slices.Sorted(slices.Values(s.Replicas))
			want := min(len(ids), placement.DefaultReplication)
			if s.ID == placement.RegistryShard {
				want = placement.RegistryVoterCount(len(ids))
			}
			if len(got) != want || s.ID != placement.RegistryShard && len(s.NonVoting) > 0 || len(s.Wanted) > 0 && !slices.Equal(got, slices.Sorted(slices.Values(s.Wanted))) {
				return fmt.Errorf("%s: shard %d has voters %v (non-voting %v, wanted %v), want %d of %v", n.Name, s.ID, got, s.NonVoting, s.Wanted, want, ids)
			}
			if l := c.NodeByID(s.Leader); l == nil || !l.Alive() {
				return fmt.Errorf("%s: shard %d has no live leader (%d)", n.Name, s.ID, s.Leader)
			}
		}
	}
	return nil
}

// WaitFormed waits until the cluster is formed on every live node's view.
func (c *Cluster) WaitFormed(ctx context.Context) error {
	return poll(ctx, formTimeout, "cluster formed", c.formed)
}

// LeaderOf returns the node that leads shard, once every live node agrees.
func (c *Cluster) LeaderOf(ctx context.Context, shard uint64) (*Node, error) {
	var leader *Node
	err := poll(ctx, formTimeout, fmt.Sprintf("leader of shard %d", shard), func(ctx context.Context) error {
		var err error
		leader, err = c.Probes.Leader(ctx, c.Nodes, shard)
		return err
	})
	return leader, err
}

// Kill kills node n with SIGKILL and waits until it is gone.
func (c *Cluster) Kill(n *Node) error {
	c.Probes.Drop(n)
	c.opts.Log.Info("kill -9", "node", n.String(), "pid", n.Pid())
	return n.Kill()
}

// Restart starts n again with the same arguments and waits for /healthz.
func (c *Cluster) Restart(ctx context.Context, n *Node) error {
	if err := n.Start(); err != nil {
		return err
	}
	c.opts.Log.Info("restarted", "node", n.String(), "pid", n.Pid())
	return waitHealthy(ctx, n)
}

// RSS returns the resident memory of every live node, by node name.
func (c *Cluster) RSS() (map[string]RSS, error) {
	out := make(map[string]RSS)
	for _, n := range c.Nodes {
		if pid := n.Pid(); pid != 0 {
			r, err := readRSS(pid)
			if err != nil {
				return nil, err
			}
			out[n.Name] = r
		}
	}
	return out, nil
}

// ResetPeakRSS resets every live node's VmHWM.
func (c *Cluster) ResetPeakRSS() error {
	for _, n := range c.Nodes {
		if pid := n.Pid(); pid != 0 {
			if err := resetPeakRSS(pid); err != nil {
				return err
			}
		}
	}
	return nil
}

// Logs returns the tail of every node's log, for an error report.
func (c *Cluster) Logs() string {
	var b strings.Builder
	for _, n := range c.Nodes {
		fmt.Fprintf(&b, "--- %s (%s), last %d lines:\n%s\n", n.Name, n.Log, logTail, proc.Tail(n.Log, logTail))
	}
	return b.String()
}

// pids returns the process id of every live node, by name.
func (c *Cluster) pids() map[string]int {
	out := make(map[string]int)
	for _, n := range c.Nodes {
		if pid := n.Pid(); pid != 0 {
			out[n.Name] = pid
		}
	}
	return out
}

// distinctShards returns how many shards rooms fall on.
func (c *Cluster) distinctShards(rooms []string) int {
	seen := make(map[uint64]bool)
	for _, r := range rooms {
		seen[c.ShardOf(r)] = true
	}
	return len(seen)
}

// profileShards is the number of room shards parleyd gives a new cluster of
// the named profile when --shards is not set (chatcore.Profile.DefaultShards).
func profileShards(profile string) int {
	if profile == "small" {
		return placement.SmallShards
	}
	return placement.DefaultShards
}
