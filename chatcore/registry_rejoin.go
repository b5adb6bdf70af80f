package chatcore

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/lni/dragonboat/v4"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// RegistryMember is what the registry says of one node: its state and the
// generation of its registry replica (see RegistryReplicaID).
type RegistryMember struct {
	State string
	Gen   uint64
}

// RegistryPeer asks another node of the cluster, peer, what the registry
// says of node (that node's RegistryMemberOf). The daemon's asks over the
// node-to-node protocol.
type RegistryPeer interface {
	RegistryMember(ctx context.Context, peer NodeRecord, node uint64) (RegistryMember, error)
}

// registryPeer holds the node's RegistryPeer, nil until one is set.
type registryPeer struct{ p atomic.Pointer[RegistryPeer] }

// SetRegistryPeer gives the node a way to ask other nodes what the registry
// says of it. A node uses it when its own registry replica has heard no
// leader for a while: if the registry replaced that replica while the node
// was away, the node learns its new replica id and rejoins the registry
// empty (it then learns its room replicas were replaced too, and takes its
// share again); if an admin removed it, it stops. Without one, a replaced
// node stays out and says so in its log.
func (n *Node) SetRegistryPeer(p RegistryPeer) { n.regPeer.p.Store(&p) }

// RegistryMemberOf answers a RegistryPeer's question: what the registry,
// read at a quorum, says of node.
func (n *Node) RegistryMemberOf(ctx context.Context, node uint64) (RegistryMember, error) {
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return RegistryMember{}, fmt.Errorf("registry member: %w", err)
	}
	rec, found, err := n.nodeRecord(node)
	if err != nil {
		return RegistryMember{}, fmt.Errorf("registry member: %w", err)
	}
	if !found {
		return RegistryMember{}, fmt.Errorf("registry member: node %d: %w", node, parley.ErrNotFound)
	}
	return RegistryMember{State: rec.State, Gen: rec.RegistryGen}, nil
}

// askAfter is how long a node's registry replica may hear no leader before
// the node asks the others whether it was replaced; askEvery paces the
// asking; askTimeout bounds one question.
const (
	askAfter   = 10 * time.Second
	askEvery   = 5 * time.Second
	askTimeout = 2 * time.Second
)

// askIfReplaced asks the other nodes, one after another until one answers,
// what the registry says of this node, once its registry replica has heard
// no leader for askAfter, and acts on the answer: a newer registry
// generation means the registry replaced this node's replica while it was
// away, so it rejoins under the new id; removed means an admin removed it.
// It runs in the host loop.
func (n *Node) askIfReplaced(now time.Time) {
	pp := n.regPeer.p.Load()
	w := &n.regWatch
	w.mu.Lock()
	due := pp != nil && !w.lastLeader.IsZero() && now.Sub(w.lastLeader) >= askAfter && now.Sub(w.asked) >= askEvery
	if due {
		w.asked = now
	}
	w.mu.Unlock()
	if !due {
		return
	}
	nodes, err := n.Nodes()
	if err != nil {
		return
	}
	for _, rec := range nodes {
		if rec.ID == n.id.NodeID || rec.State == NodeRemoved {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), askTimeout)
		ans, err := (*pp).RegistryMember(ctx, rec, n.id.NodeID)
		cancel()
		if err != nil {
			n.log.Debug("registry: ask whether replaced", "peer", rec.ID, "err", err)
			continue
		}
		n.actOnRegistryAnswer(ans)
		return
	}
}

// actOnRegistryAnswer rejoins the registry under a newer generation, or
// stops serving if the node was removed.
func (n *Node) actOnRegistryAnswer(ans RegistryMember) {
	if ans.State == NodeRemoved {
		n.log.Warn("this node was removed from the cluster by an admin while it was away; it stops serving")
		n.removedOnce.Do(func() { close(n.removed) })
		return
	}
	old, running := n.localReplica(placement.RegistryShard)
	if running && old>>32 >= ans.Gen {
		return
	}
	if err := n.rejoinRegistry(old, running, ans.Gen); err != nil {
		n.log.Warn("registry: rejoin", "err", err)
	}
}

// rejoinRegistry drops this node's registry replica old, deleted by the
// registry while the node was away, with its data, and starts the replica
// of generation gen empty, as a non-voting member the registry leader has
// added already: it catches up from a snapshot. The new replica id is
// recorded first, so a crash halfway restarts the rejoin (see
// restartRegistry).
func (n *Node) rejoinRegistry(old uint64, running bool, gen uint64) error {
	replica := RegistryReplicaID(n.id.NodeID, gen)
	n.log.Warn("this node's registry replica was replaced while it was away; it rejoins the registry empty",
		"old_replica", old, "replica", replica)
	if running {
		if err := n.nh.StopReplica(placement.RegistryShard, old); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
			return fmt.Errorf("stop replica %d: %w", old, err)
		}
		n.mu.Lock()
		delete(n.hosted, placement.RegistryShard)
		n.mu.Unlock()
	}
	if err := n.setJoinRole(placement.RegistryShard, replica, true); err != nil {
		return err
	}
	if running {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.nh.SyncRemoveData(ctx, placement.RegistryShard, old); err != nil {
			return fmt.Errorf("remove data of replica %d: %w", old, err)
		}
	}
	if err := n.wipeShardState(placement.RegistryShard); err != nil {
		return err
	}
	if err := n.startReplica(placement.RegistryShard, replica, nil, true, true); err != nil {
		return err
	}
	n.regWatch.mu.Lock()
	n.regWatch.lastLeader = time.Now()
	n.regWatch.mu.Unlock()
	return nil
}

// wipeShardState deletes every key of shard from the state db.
func (n *Node) wipeShardState(shard uint64) error {
	lo, hi := shardRange(shard)
	if err := n.db.db.DeleteRange(lo, hi, pebble.Sync); err != nil {
		return fmt.Errorf("shard %d: delete state: %w", shard, err)
	}
	return nil
}

// restartRegistry starts this node's registry replica again after a
// restart, in the role it joined with. A replica of a later generation that
// Raft has no record of is a rejoin a crash cut short: it starts again,
// empty.
func (n *Node) restartRegistry() error {
	replica, nonVoting, ok := n.joinRole(placement.RegistryShard, n.id.NodeID)
	if !ok {
		replica = n.id.NodeID
	}
	if replica != n.id.NodeID && !n.nh.HasNodeInfo(placement.RegistryShard, replica) {
		if err := n.wipeShardState(placement.RegistryShard); err != nil {
			return err
		}
		return n.startReplica(placement.RegistryShard, replica, nil, true, nonVoting)
	}
	return n.startReplica(placement.RegistryShard, replica, nil, false, nonVoting)
}
