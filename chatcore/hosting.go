package chatcore

import (
	"context"
	"slices"
	"time"

	"github.com/lni/dragonboat/v4"

	"github.com/parleychat/parley/placement"
)

// hostInterval is how often a node reconciles what it hosts when the
// registry is quiet.
const hostInterval = 500 * time.Millisecond

// hostLoop makes the node host what the registry says it should: it starts a
// replica of every room shard (non-voting until promoted), promotes itself
// where the placement wants a voter once it has caught up, and, while it leads the registry, runs the placement loop.
func (n *Node) hostLoop() {
	t := time.NewTicker(hostInterval)
	defer t.Stop()
	for {
		wake := n.registryWake()
		n.reconcile()
		select {
		case <-n.stop:
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
	for _, s := range placement.RoomShards(info.Shards) {
		if !n.isHosted(s) {
			if err := n.startReplica(s, nil, true, true); err != nil {
				n.log.Warn("host: start replica", "shard", s, "err", err)
			}
		}
	}
	for s := range n.nonVotingShards() {
		n.promoteSelf(s)
	}
	n.publishClientAddr()
	if leader, _, ok, _ := n.nh.GetLeaderID(placement.RegistryShard); ok && leader == n.id.NodeID {
		n.placeAll(info)
	}
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
func (n *Node) promoteSelf(shard uint64) {
	p, err := n.placement(shard)
	if err != nil || !slices.Contains(p.Voters, n.id.NodeID) {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	// A linearizable read completes only once the local replica has applied
	// what the leader had committed: it has caught up.
	if _, err := n.nh.SyncRead(ctx, shard, readBarrier{}); err != nil {
		return
	}
	m, err := n.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return
	}
	if _, ok := m.NonVotings[n.id.NodeID]; !ok {
		return
	}
	if err := n.nh.SyncRequestAddReplica(ctx, shard, n.id.NodeID, n.cfg.RaftAddr, m.ConfigChangeID); err != nil {
		n.log.Debug("host: promote", "shard", shard, "err", err)
		return
	}
	n.log.Debug("promoted to voter", "shard", shard)
}
