package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
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
}

// Node is one parleyd process of a Cluster. Its arguments, so its
// addresses and data, never change: a restart brings back the same node.
type Node struct {
	Name   string
	Data   string
	Log    string
	Client string // QUIC (UDP) address for clients
	Raft   string // TCP address for Raft
	HTTP   string // TCP address of /healthz
	args   []string

	mu sync.Mutex
	id uint64
	p  *proc
}

// ID returns the node's registry id, learnt from /healthz.
func (n *Node) ID() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// Pid returns the process id of the node's current process, 0 if none.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p == nil || n.p.exited() {
		return 0
	}
	return n.p.pid()
}

// Alive reports whether the node's process runs.
func (n *Node) Alive() bool { return n.Pid() != 0 }

// String names the node: "n2 (node 2)".
func (n *Node) String() string { return fmt.Sprintf("%s (node %d)", n.Name, n.ID()) }

func (n *Node) start(bin string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p != nil && !n.p.exited() {
		return fmt.Errorf("node %s: already running", n.Name)
	}
	p, err := startProc(n.Name, bin, n.args, n.Log)
	if err != nil {
		return err
	}
	n.p = p
	return nil
}

// waitHealthy polls /healthz until it answers 200 and learns the node id.
func (n *Node) waitHealthy(ctx context.Context) error {
	hc := &http.Client{Timeout: 2 * time.Second}
	return poll(ctx, startTimeout, n.Name+" healthy", func(ctx context.Context) error {
		if !n.Alive() {
			return errors.Join(fmt.Errorf("%s exited:\n%s", n.Name, tailFile(n.Log, logTail)), errPermanent)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.HTTP+"/healthz", nil)
		if err != nil {
			return err
		}
		resp, err := hc.Do(req)
		if err != nil {
			return fmt.Errorf("healthz: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("healthz: %s", resp.Status)
		}
		var h struct {
			Node uint64 `json:"node"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
			return fmt.Errorf("healthz: %w", err)
		}
		if h.Node == 0 {
			return errors.New("healthz: no node id yet")
		}
		n.mu.Lock()
		n.id = h.Node
		n.mu.Unlock()
		return nil
	})
}

// errPermanent, joined into a polled condition's error, ends the poll.
var errPermanent = errors.New("permanent")

// Cluster is a Parley cluster of parleyd processes on 127.0.0.1.
type Cluster struct {
	opts  ClusterOptions
	Nodes []*Node
	// Token is the join token the first node wrote.
	Token string
	// CAFile is the cluster CA, pinned by every client the harness dials.
	CAFile string

	users  atomic.Int64
	mu     sync.Mutex
	probes map[*Node]*client.Client
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
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c := &Cluster{opts: opts, probes: make(map[*Node]*client.Client)}
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("cluster: %w", err)
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	for i := 1; i <= c.opts.Nodes; i++ {
		n, err := c.newNode(fmt.Sprintf("n%d", i))
		if err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, n)
		if err := n.start(c.opts.Parleyd); err != nil {
			return err
		}
		if err := n.waitHealthy(ctx); err != nil {
			return err
		}
		if i == 1 {
			tok, err := os.ReadFile(joinTokenFile(n.Data))
			if err != nil {
				return fmt.Errorf("join token: %w", err)
			}
			c.Token = strings.TrimSpace(string(tok))
			c.CAFile = chatcore.NodeTLS(n.Data).CA
		}
	}
	return c.WaitFormed(ctx)
}

// newNode picks a node's addresses and arguments; every node after the
// first joins the first.
func (c *Cluster) newNode(name string) (*Node, error) {
	var addrs [3]string
	for i := range addrs {
		a, err := freeAddr()
		if err != nil {
			return nil, err
		}
		addrs[i] = a
	}
	n := &Node{
		Name:   name,
		Data:   filepath.Join(c.opts.Dir, name),
		Log:    filepath.Join(c.opts.Dir, name+".log"),
		Client: addrs[0], Raft: addrs[1], HTTP: addrs[2],
	}
	n.args = []string{
		"--data", n.Data, "--listen", n.Client, "--raft", n.Raft, "--http", n.HTTP,
		"--advertise", "127.0.0.1", "--name", name, "--profile", c.opts.Profile,
		"--shards", strconv.Itoa(c.opts.Shards), "--log-level", "warn",
	}
	if len(c.Nodes) > 0 {
		n.args = append(n.args, "--join", c.Nodes[0].Client, "--token", c.Token)
	}
	return n, nil
}

// Close closes the harness's clients and stops every node.
func (c *Cluster) Close() {
	c.mu.Lock()
	probes := c.probes
	c.probes = make(map[*Node]*client.Client)
	c.mu.Unlock()
	for _, cl := range probes {
		cl.Close()
	}
	var wg sync.WaitGroup
	for _, n := range c.Nodes {
		n.mu.Lock()
		p := n.p
		n.mu.Unlock()
		if p != nil {
			wg.Go(func() { p.stop(10 * time.Second) })
		}
	}
	wg.Wait()
}

// Shards returns the ids of the cluster's room shards.
func (c *Cluster) Shards() []uint64 {
	return chatcore.RoomShards(c.opts.Shards)
}

// ShardOf returns the room shard that holds room.
func (c *Cluster) ShardOf(room string) uint64 {
	return chatcore.NewRing(c.Shards()).Shard(room)
}

// NodeByID returns the node with registry id id, or nil.
func (c *Cluster) NodeByID(id uint64) *Node {
	for _, n := range c.Nodes {
		if n.ID() == id {
			return n
		}
	}
	return nil
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

// probe returns the harness's own client of node n.
func (c *Cluster) probe(ctx context.Context, n *Node) (*client.Client, error) {
	c.mu.Lock()
	cl := c.probes[n]
	c.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	cl, err := c.Dial(ctx, "probe", n)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old := c.probes[n]; old != nil {
		cl.Close()
		return old, nil
	}
	c.probes[n] = cl
	return cl, nil
}

// dropProbe closes the harness's client of n.
func (c *Cluster) dropProbe(n *Node) {
	c.mu.Lock()
	cl := c.probes[n]
	delete(c.probes, n)
	c.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// onNode runs f with a client of node n, and fails if the client had
// moved to another node by the time f returned.
func (c *Cluster) onNode(ctx context.Context, n *Node, f func(*client.Client) error) error {
	cl, err := c.probe(ctx, n)
	if err != nil {
		return err
	}
	if err := f(cl); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if cl.Node().Addr != n.Client {
		c.dropProbe(n)
		return fmt.Errorf("%s: its client moved to %s", n.Name, cl.Node().Addr)
	}
	return nil
}

// StatusOn returns the cluster's status as node n sees it.
func (c *Cluster) StatusOn(ctx context.Context, n *Node) (transport.StatusResponse, error) {
	var st transport.StatusResponse
	err := c.onNode(ctx, n, func(cl *client.Client) error {
		var err error
		st, err = cl.Status(ctx)
		return err
	})
	return st, err
}

// HistoryOn returns room's whole history as node n's replica holds it.
func (c *Cluster) HistoryOn(ctx context.Context, n *Node, room string) ([]transport.Message, error) {
	var msgs []transport.Message
	err := c.onNode(ctx, n, func(cl *client.Client) error {
		var err error
		msgs, err = cl.History(ctx, room, client.HistoryOptions{From: 1, Limit: 1 << 30})
		return err
	})
	return msgs, err
}

// formed checks, on every live node's view, that every node is a voter of
// every shard and that each shard has a live leader.
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
			if !slices.Equal(got, ids) {
				return fmt.Errorf("%s: shard %d has voters %v, want %v", n.Name, s.ID, got, ids)
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
		var ids []uint64
		for _, n := range c.Nodes {
			if !n.Alive() {
				continue
			}
			st, err := c.StatusOn(ctx, n)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(st.Shards, func(s transport.ShardStatus) bool { return s.ID == shard })
			if i < 0 {
				return fmt.Errorf("%s does not list shard %d", n.Name, shard)
			}
			ids = append(ids, st.Shards[i].Leader)
		}
		slices.Sort(ids)
		if ids = slices.Compact(ids); len(ids) != 1 {
			return fmt.Errorf("nodes disagree on the leader of shard %d: %v", shard, ids)
		}
		if leader = c.NodeByID(ids[0]); leader == nil || !leader.Alive() {
			return fmt.Errorf("shard %d has no live leader (%d)", shard, ids[0])
		}
		return nil
	})
	return leader, err
}

// Kill kills node n with SIGKILL and waits until it is gone.
func (c *Cluster) Kill(n *Node) error {
	c.dropProbe(n)
	n.mu.Lock()
	p := n.p
	n.mu.Unlock()
	if p == nil {
		return fmt.Errorf("kill %s: not running", n.Name)
	}
	c.opts.Log.Info("kill -9", "node", n.String(), "pid", p.pid())
	return p.kill()
}

// Restart starts n again with the same arguments and waits for /healthz.
func (c *Cluster) Restart(ctx context.Context, n *Node) error {
	if err := n.start(c.opts.Parleyd); err != nil {
		return err
	}
	c.opts.Log.Info("restarted", "node", n.String(), "pid", n.Pid())
	return n.waitHealthy(ctx)
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
		fmt.Fprintf(&b, "--- %s (%s), last %d lines:\n%s\n", n.Name, n.Log, logTail, tailFile(n.Log, logTail))
	}
	return b.String()
}

// joinTokenFile is where a bootstrapped node writes its join token (see
// daemon.JoinTokenFile; not imported, to keep the harness a client).
func joinTokenFile(dataDir string) string { return filepath.Join(dataDir, "join-token") }

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
// the named profile when --shards is not set.
func profileShards(profile string) int {
	p, err := chatcore.ParseProfile(profile)
	if err != nil {
		return chatcore.DefaultShards
	}
	return p.DefaultShards()
}
