package proccluster

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// Probes are a harness's own SDK clients, one per node and connected to
// that node first, for each node's view of the cluster.
type Probes struct {
	dial func(ctx context.Context, n *Node) (*client.Client, error)

	mu      sync.Mutex
	clients map[*Node]*client.Client
}

// NewProbes returns Probes that connect a node's client with dial.
func NewProbes(dial func(ctx context.Context, n *Node) (*client.Client, error)) *Probes {
	return &Probes{dial: dial, clients: make(map[*Node]*client.Client)}
}

// client returns the client of node n, dialing it on first use.
func (p *Probes) client(ctx context.Context, n *Node) (*client.Client, error) {
	p.mu.Lock()
	cl := p.clients[n]
	p.mu.Unlock()
	if cl != nil {
		return cl, nil
	}
	cl, err := p.dial(ctx, n)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if old := p.clients[n]; old != nil {
		cl.Close()
		return old, nil
	}
	p.clients[n] = cl
	return cl, nil
}

// Drop closes the client of n; the next use dials anew.
func (p *Probes) Drop(n *Node) {
	p.mu.Lock()
	cl := p.clients[n]
	delete(p.clients, n)
	p.mu.Unlock()
	if cl != nil {
		cl.Close()
	}
}

// Close closes every client.
func (p *Probes) Close() {
	p.mu.Lock()
	clients := p.clients
	p.clients = make(map[*Node]*client.Client)
	p.mu.Unlock()
	for _, cl := range clients {
		cl.Close()
	}
}

// On runs f with the client of node n, and fails if the client was no
// longer connected to n when f returned: it fails over by itself, and the
// answer would then be another node's.
func (p *Probes) On(ctx context.Context, n *Node, f func(*client.Client) error) error {
	cl, err := p.client(ctx, n)
	if err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if err := f(cl); err != nil {
		return fmt.Errorf("%s: %w", n.Name, err)
	}
	if got := cl.Node().Addr; got != n.Client {
		p.Drop(n)
		return fmt.Errorf("%s: its client moved to %s", n.Name, got)
	}
	return nil
}

// StatusOn returns the cluster's status as node n sees it.
func (p *Probes) StatusOn(ctx context.Context, n *Node) (transport.StatusResponse, error) {
	var st transport.StatusResponse
	err := p.On(ctx, n, func(cl *client.Client) error {
		var err error
		st, err = cl.Status(ctx)
		return err
	})
	return st, err
}

// HistoryOn returns room's whole history from node n's own replica. The
// SDK's History is linearizable and served by the node it asks.
func (p *Probes) HistoryOn(ctx context.Context, n *Node, room string) ([]parley.Message, error) {
	var msgs []parley.Message
	err := p.On(ctx, n, func(cl *client.Client) error {
		var err error
		msgs, err = cl.History(ctx, room, client.HistoryOptions{From: 1, Limit: 1 << 30})
		return err
	})
	return msgs, err
}

// Leader asks every live node of nodes which node leads shard, and returns
// that node if they all name the same one and it is alive.
func (p *Probes) Leader(ctx context.Context, nodes []*Node, shard uint64) (*Node, error) {
	var ids []uint64
	for _, n := range nodes {
		if !n.Alive() {
			continue
		}
		st, err := p.StatusOn(ctx, n)
		if err != nil {
			return nil, err
		}
		i := slices.IndexFunc(st.Shards, func(s transport.ShardStatus) bool { return s.ID == shard })
		if i < 0 {
			return nil, fmt.Errorf("%s does not list shard %d", n.Name, shard)
		}
		ids = append(ids, st.Shards[i].Leader)
	}
	slices.Sort(ids)
	if ids = slices.Compact(ids); len(ids) != 1 || ids[0] == 0 {
		return nil, fmt.Errorf("nodes disagree on the leader of shard %d: %v", shard, ids)
	}
	for _, n := range nodes {
		if n.ID() == ids[0] && n.Alive() {
			return n, nil
		}
	}
	return nil, fmt.Errorf("shard %d is led by node %d, which is down", shard, ids[0])
}
