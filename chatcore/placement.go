package chatcore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley/placement"
)

// placeAll is the registry leader's placement loop body. For every shard it
// makes every registered node a member (non-voting at first) and keeps the
// wanted voter set in the registry: room shards want placement.DefaultReplication
// voters chosen by rendezvous hashing, the registry wants up to
// placement.RegistryVoters. Voters, once placed, stay: a node joining never moves an
// existing replica, so no data moves and quorum is never at risk. Nodes
// promote themselves once they have caught up (see promoteSelf).
func (n *Node) placeAll(info ClusterInfo) {
	nodes, err := n.Nodes()
	if err != nil {
		n.log.Warn("placement: nodes", "err", err)
		return
	}
	ids := make([]uint64, len(nodes))
	for i, rec := range nodes {
		ids[i] = rec.ID
	}
	shards := append([]uint64{placement.RegistryShard}, placement.RoomShards(info.Shards)...)
	for _, s := range shards {
		want := placement.DefaultReplication
		if s == placement.RegistryShard {
			want = placement.RegistryVoters
		}
		if err := n.placeShard(s, ids, want); err != nil {
			n.log.Debug("placement", "shard", s, "err", err)
		}
	}
	set := nodeSet(ids)
	for _, s := range shards {
		if n.settled[s] == set {
			continue
		}
		if n.addMembers(s, nodes) {
			n.settled[s] = set
		}
	}
}

// nodeSet names a set of node ids, for comparing sets.
func nodeSet(ids []uint64) string {
	sorted := slices.Sorted(slices.Values(ids))
	return fmt.Sprint(sorted)
}

// addMembers adds every registered node that is not yet a member of shard as
// a non-voting member, so it can start catching up. It reports whether every
// node already was a member. Reading the membership is a linearizable read
// that wakes a quiesced shard, so placeAll skips the shards it has found
// complete for the same set of nodes.
func (n *Node) addMembers(shard uint64, nodes []NodeRecord) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := n.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return false
	}
	for _, rec := range nodes {
		_, voter := m.Nodes[rec.ID]
		_, nonVoting := m.NonVotings[rec.ID]
		if voter || nonVoting {
			continue
		}
		if err := n.nh.SyncRequestAddNonVoting(ctx, shard, rec.ID, rec.RaftAddr, m.ConfigChangeID); err != nil {
			n.log.Debug("placement: add member", "shard", shard, "node", rec.ID, "err", err)
		}
		return false // one membership change per shard per round
	}
	return true
}

// placeShard fills shard's wanted voter set up to want from nodes.
func (n *Node) placeShard(shard uint64, nodes []uint64, want int) error {
	p, err := n.placement(shard)
	if err != nil {
		return err
	}
	voters := placement.WantedVoters(shard, p.Voters, nodes, want)
	if slices.Equal(voters, p.Voters) {
		return nil
	}
	cmd := registryCommand{Op: regOpSetPlacement, Placement: &Placement{Shard: shard, Voters: voters}}
	data, err := cbor.Marshal(cmd)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err = n.propose(ctx, placement.RegistryShard, data)
	return err
}
