package faults

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/internal/proccluster"
)

// The nodes' ports, the same in every node's namespace, and the first
// ports of the harness's proxies.
const (
	clientPort = 7400
	raftPort   = 7401
	httpPort   = 7480
	// raftProxyBase + 10*i + j is the proxy of node i's Raft connections
	// to node j; clientProxyBase + i the proxy of clients to node i.
	raftProxyBase   = 9000
	clientProxyBase = 9100
	// Password is every test user's password.
	Password = "faults-password"
	// pollInterval is the pause between two checks of a polled condition.
	pollInterval = 100 * time.Millisecond
)

// Cluster is a cluster of parleyd processes, one per namespace of Net,
// whose Raft links between nodes all pass through delaying proxies.
type Cluster struct {
	Net   *Net
	Nodes []*proccluster.Node
	// CAFile is the cluster CA, which clients pin.
	CAFile string
	// RaftDelay delays every Raft link; ClientDelay every proxied client link.
	RaftDelay, ClientDelay Delay
	// Probes are clients that each stay on one node, for per-node views.
	Probes *proccluster.Probes

	dir           string
	raftProxies   []*TCPProxy
	clientProxies []*UDPProxy
}

// StartCluster starts size nodes of the parleyd binary under dir: n1
// bootstraps a cluster, the others join it one after another. It returns
// when every node answers /healthz; the caller waits for Formed.
func StartCluster(ctx context.Context, parleyd, dir string, size, shards int) (*Cluster, error) {
	nw, err := NewNet(size)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Net: nw, dir: dir}
	c.Probes = proccluster.NewProbes(func(ctx context.Context, n *proccluster.Node) (*client.Client, error) {
		return c.Dial(ctx, "probe", n.Client)
	})
	if err := c.startProxies(size); err != nil {
		return c, err
	}
	cfg := proccluster.Config{
		Parleyd: parleyd, Dir: dir, Size: size, Profile: "small", Shards: shards,
		Args:     []string{"--log-level", "warn"},
		Launcher: proc.Launcher{Tag: "faults"},
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return c, fmt.Errorf("cluster dir: %w", err)
	}
	var token string
	for i := 1; i <= size; i++ {
		ip := NodeIP(i)
		spec := proccluster.NodeSpec{
			Name:   fmt.Sprintf("n%d", i),
			Client: addr(ip, clientPort), Raft: addr(ip, raftPort), HTTP: addr(ip, httpPort),
			Advertise: ip, Wrap: nw.Wrap(i),
		}
		if i > 1 {
			spec.Extra = []string{"--join", c.Nodes[0].Client, "--token", token}
		}
		n := cfg.NewNodeFrom(spec)
		c.Nodes = append(c.Nodes, n)
		if err := n.Start(); err != nil {
			return c, err
		}
		if err := c.WaitHealthy(ctx, n); err != nil {
			return c, err
		}
		if i == 1 {
			b, err := os.ReadFile(filepath.Join(n.Data, "join-token"))
			if err != nil {
				return c, fmt.Errorf("join token: %w", err)
			}
			token = strings.TrimSpace(string(b))
			c.CAFile = chatcore.NodeTLS(n.Data).CA
		}
	}
	return c, nil
}

// startProxies starts the Raft link proxies, redirects each node's Raft
// connections through them, and starts the client proxies.
func (c *Cluster) startProxies(size int) error {
	for i := 1; i <= size; i++ {
		for j := 1; j <= size; j++ {
			if i == j {
				continue
			}
			p, err := NewTCPProxy(addr(hostIP, raftProxyBase+10*i+j), addr(NodeIP(j), raftPort), &c.RaftDelay)
			if err != nil {
				return fmt.Errorf("raft proxy %d→%d: %w", i, j, err)
			}
			c.raftProxies = append(c.raftProxies, p)
			if err := c.Net.Redirect(i, j, raftPort, p.Addr()); err != nil {
				return err
			}
		}
		p, err := NewUDPProxy(addr(hostIP, clientProxyBase+i), addr(NodeIP(i), clientPort), &c.ClientDelay)
		if err != nil {
			return fmt.Errorf("client proxy %d: %w", i, err)
		}
		c.clientProxies = append(c.clientProxies, p)
	}
	return nil
}

// ClientProxy returns the address of the delaying proxy to node i (1-based).
func (c *Cluster) ClientProxy(i int) string { return c.clientProxies[i-1].Addr() }

func addr(ip string, port int) string { return ip + ":" + strconv.Itoa(port) }

// Addrs returns every node's client address.
func (c *Cluster) Addrs() []string {
	var out []string
	for _, n := range c.Nodes {
		out = append(out, n.Client)
	}
	return out
}

// Dial connects a client as user to servers, pinning the cluster CA.
func (c *Cluster) Dial(ctx context.Context, user string, servers ...string) (*client.Client, error) {
	cl, err := client.Dial(ctx, client.Options{Servers: servers, User: user, Password: Password, CAFile: c.CAFile})
	if err != nil {
		return nil, fmt.Errorf("dial %v as %s: %w", servers, user, err)
	}
	return cl, nil
}

// WaitHealthy polls n's /healthz until it answers, n's process exits, or
// ctx ends.
func (c *Cluster) WaitHealthy(ctx context.Context, n *proccluster.Node) error {
	return Poll(ctx, func() error {
		p := n.Proc()
		if p == nil || p.Exited() {
			return Permanent(fmt.Errorf("%s is not running:\n%s", n.Name, proc.Tail(n.Log, 40)))
		}
		hctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		defer cancel()
		return n.CheckHealthy(hctx, nil)
	})
}

// Formed checks, on every node's view, that every shard has every node as
// a voter and a leader.
func (c *Cluster) Formed(ctx context.Context) error {
	var ids []uint64
	for _, n := range c.Nodes {
		ids = append(ids, n.ID())
	}
	slices.Sort(ids)
	for _, n := range c.Nodes {
		st, err := c.Probes.StatusOn(ctx, n)
		if err != nil {
			return err
		}
		if len(st.Nodes) != len(ids) {
			return fmt.Errorf("%s sees %d nodes, want %d", n.Name, len(st.Nodes), len(ids))
		}
		for _, s := range st.Shards {
			if !slices.Equal(s.Replicas, ids) {
				return fmt.Errorf("%s: shard %d has voters %v, want %v", n.Name, s.ID, s.Replicas, ids)
			}
			if s.Leader == 0 {
				return fmt.Errorf("%s: shard %d has no leader", n.Name, s.ID)
			}
		}
	}
	return nil
}

// Close kills every node, stops the proxies and the namespaces.
func (c *Cluster) Close() {
	c.Probes.Close()
	for _, n := range c.Nodes {
		if p := n.Proc(); p != nil {
			p.Kill()
		}
	}
	for _, p := range c.raftProxies {
		p.Close()
	}
	for _, p := range c.clientProxies {
		p.Close()
	}
	c.Net.Close()
}

// permanentError ends a Poll at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that waiting will not fix.
func Permanent(err error) error { return permanentError{err} }

// Poll calls f every pollInterval until it returns nil or a Permanent
// error, or ctx ends; it then returns f's last error.
func Poll(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		var pe permanentError
		if errors.As(err, &pe) {
			return pe.err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("gave up (%v): %w", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}
