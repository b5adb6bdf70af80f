package chatcore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/lni/dragonboat/v4"

	"github.com/parleychat/parley/placement"
)

// hostInterval is how often a node reconciles what it hosts when the
// registry is quiet.
const hostInterval = 500 * time.Millisecond

// hostLoop makes the node host what the registry says it should: it runs a
// replica of every room shard the registry gave it a replica id of and no
// other, promotes itself where the placement wants a voter once it has
// caught up, moves the membership of the shards it leads towards the
// placement, and, while it leads the registry, runs the placement loop.
func (n *Node) hostLoop() {
	t := time.NewTicker(hostInterval)
	defer t.Stop()
	for {
		wake := n.registryWake()
		n.reconcile()
		select {
		case <-n.stop:
			return
		case <-n.removed:
			return
		case <-wake:
		case <-t.C:
		}
	}
}

func (n *Node) reconcile() {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return
	}
	n.mu.Lock()
	if n.ring == nil {
		n.ring = placement.NewRing(placement.RoomShards(info.Shards))
	}
	n.mu.Unlock()
	nodes, err := n.Nodes()
	if err != nil {
		return
	}
	now := time.Now()
	n.live.observe(nodes, now)
	n.watchRegistry(now)
	n.askIfReplaced(now)
	if me, found, err := n.nodeRecord(n.id.NodeID); err == nil && found && me.State == NodeRemoved {
		n.log.Warn("this node was removed from the cluster by an admin; it stops serving")
		n.removedOnce.Do(func() { close(n.removed) })
		return
	}
	n.hostAssigned(info)
	for s := range n.nonVotingShards() {
		n.promoteSelf(s)
	}
	n.publishClientAddr()
	n.driveMoves(info, nodes, now)
	n.balanceLeaders(nodes, now)
	if n.leadsNow(placement.RegistryShard) {
		n.placeAll(info, nodes, now)
	}
}

// Removed is closed once the registry says an admin removed this node from
// the cluster: it no longer serves.
func (n *Node) Removed() <-chan struct{} { return n.removed }

// hostAssigned starts the local replica of every room shard the registry
// gave this node a replica id of, and drops every other: a replica removed
// from its shard, or replaced while this node was away.
func (n *Node) hostAssigned(info ClusterInfo) {
	for _, s := range placement.RoomShards(info.Shards) {
		p, err := n.placement(s)
		if err != nil {
			continue
		}
		if len(p.Replicas) == 0 {
			// A cluster made before the registry handed out replica ids
			// records none: leave its replicas alone rather than drop
			// them all.
			continue
		}
		want, assigned := p.Replicas[n.id.NodeID]
		have, running := n.localReplica(s)
		if running && (!assigned || have != want) {
			if err := n.dropReplica(s, have); err != nil {
				n.log.Warn("host: drop replica", "shard", s, "err", err)
				continue
			}
			running = false
		}
		if assigned && !running {
			if err := n.startReplica(s, want, nil, true, true); err != nil {
				n.log.Warn("host: start replica", "shard", s, "err", err)
			}
		}
	}
}

// dropReplica stops the local replica of shard, which its shard no longer
// has as a member, and deletes its Raft data and its state: should the
// shard come back here, it comes back empty under a new replica id and
// catches up from a snapshot.
func (n *Node) dropReplica(shard, replica uint64) error {
	n.log.Info("host: dropping replica no longer placed here", "shard", shard, "replica", replica)
	if err := n.nh.StopReplica(shard, replica); err != nil && !errors.Is(err, dragonboat.ErrShardNotFound) {
		return fmt.Errorf("stop: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := n.nh.SyncRemoveData(ctx, shard, replica); err != nil {
		return fmt.Errorf("remove data: %w", err)
	}
	lo, hi := shardRange(shard)
	if err := n.db.db.DeleteRange(lo, hi, pebble.Sync); err != nil {
		return fmt.Errorf("delete state: %w", err)
	}
	if err := n.forgetRole(shard); err != nil {
		return err
	}
	n.mu.Lock()
	delete(n.hosted, shard)
	n.mu.Unlock()
	n.moves.forget(shard)
	n.hub.reload(shard)
	return nil
}

// publishClientAddr updates this node's client address in the registry when
// it restarted with another one, so clients learn where it is now.
func (n *Node) publishClientAddr() {
	var rec NodeRecord
	found, err := getCBOR(n.db.db, nodeKey(n.id.NodeID), &rec)
	if err != nil || !found || n.cfg.ClientAddr == "" ||
		rec.ClientAddr == n.cfg.ClientAddr && rec.HTTPAddr == n.cfg.HTTPAddr && rec.HTTPSAddr == n.cfg.HTTPSAddr {
		return
	}
	rec.ClientAddr, rec.HTTPAddr, rec.HTTPSAddr = n.cfg.ClientAddr, n.cfg.HTTPAddr, n.cfg.HTTPSAddr
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := n.proposeRegistry(ctx, registryCommand{Op: regOpUpdateNode, Node: &rec}); err != nil {
		n.log.Debug("host: publish client address", "err", err)
	}
}

// nonVotingShards returns the shards whose local replica is currently
// non-voting, from dragonboat's view of the membership it has applied.
func (n *Node) nonVotingShards() map[uint64]bool {
	out := make(map[uint64]bool)
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	for _, si := range info.ShardInfoList {
		if si.IsNonVoting {
			out[si.ShardID] = true
		}
	}
	return out
}

// promoteSelf turns the local non-voting replica of shard into a voter when
// the placement wants one here and the replica has caught up.
//
// A room shard's leader adds a non-voting member only to promote it (see
// placement.NextStep), so it promotes itself whatever the voter count. The
// registry's other nodes follow it as non-voting members: one promotes
// itself only while some node the placement wants as a voter is not one,
// as seen after catching up (registryWantsVoter), so two promotions racing
// a placement change cannot both go through (each change is guarded by the
// membership's config-change id, so the second re-reads).
func (n *Node) promoteSelf(shard uint64) {
	replica, ok := n.localReplica(shard)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// A linearizable read completes only once the local replica has applied
	// what the leader had committed: it has caught up.
	if _, err := n.nh.SyncRead(ctx, shard, readBarrier{}); err != nil {
		return
	}
	// Read after the barrier: for the registry, that is this replica's own
	// state, current.
	p, err := n.placement(shard)
	if err != nil || !slices.Contains(p.Voters, n.id.NodeID) {
		return
	}
	m, err := n.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return
	}
	if _, ok := m.NonVotings[replica]; !ok {
		return
	}
	if shard == placement.RegistryShard && !registryWantsVoter(p, m) {
		return
	}
	if err := n.nh.SyncRequestAddReplica(ctx, shard, replica, n.cfg.RaftAddr, m.ConfigChangeID); err != nil {
		n.log.Debug("host: promote", "shard", shard, "err", err)
		return
	}
	n.log.Info("promoted to voter", "shard", shard, "replica", replica)
}
