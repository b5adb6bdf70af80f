package chatcore

import (
	"context"
	"slices"
	"time"

	"github.com/parleychat/parley/placement"
)

// placeAll is the registry leader's placement loop body. It decides where
// every room shard's voters should be and writes that into the registry;
// the leader of each shard then moves its membership there one safe step
// at a time (see driveMoves), and nodes start and drop their replicas as
// the registry hands out and takes back replica ids (see hostAssigned).
//
//   - Room shards: placement.Balance (bounded-load rendezvous) over the
//     nodes that are neither draining, removed nor dead, keeping the
//     current voters where balance allows: a joining node takes its share,
//     a leaving one's replicas move, little else does.
//   - A draining node that holds no replica any more is removed.
//   - The registry: up to placement.RegistryVoters voters
//     (placement.WantedRegistryVoters); the others follow it as non-voting
//     members. A dead or removed voter is replaced, one step at a time
//     (see placeRegistry).
func (n *Node) placeAll(info ClusterInfo, nodes []NodeRecord, now time.Time) {
	var candidates []uint64
	for _, rec := range nodes {
		if rec.State != NodeActive {
			continue
		}
		if rec.ID == n.id.NodeID || n.live.silentFor(rec.ID, now) <= info.DeadAfterOrDefault() {
			candidates = append(candidates, rec.ID)
		}
	}
	if len(candidates) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	shards := placement.RoomShards(info.Shards)
	current := make(map[uint64][]uint64, len(shards))
	holders := make(map[uint64]bool)
	for _, s := range shards {
		p, err := n.placement(s)
		if err != nil {
			return
		}
		current[s] = p.Voters
		for node := range p.Replicas {
			holders[node] = true
		}
	}
	wanted, err := placement.Balance(shards, current, candidates, info.Replicas())
	if err != nil {
		n.log.Warn("placement", "err", err)
		return
	}
	for _, s := range shards {
		if sameSet(wanted[s], current[s]) {
			continue
		}
		if err := n.setPlacement(ctx, s, wanted[s]); err != nil {
			n.log.Debug("placement", "shard", s, "err", err)
			return
		}
	}
	for _, rec := range nodes {
		if rec.State == NodeDraining && !holders[rec.ID] {
			n.log.Info("placement: node drained, removing it", "node", rec.ID)
			cmd := registryCommand{Op: regOpSetNodeState, Target: rec.ID, Node: &NodeRecord{State: NodeRemoved}}
			if _, err := n.proposeRegistry(ctx, cmd); err != nil {
				n.log.Debug("placement: remove node", "node", rec.ID, "err", err)
			}
		}
	}
	all, err := listNodes(n.db.db) // removed ones too: their replicas go
	if err != nil {
		return
	}
	n.placeRegistry(ctx, info, all, candidates, now)
}

func (n *Node) setPlacement(ctx context.Context, shard uint64, voters []uint64) error {
	_, err := n.proposeRegistry(ctx, registryCommand{Op: regOpSetPlacement, Placement: &Placement{Shard: shard, Voters: voters}})
	return err
}

// sameSet reports whether a and b hold the same ids.
func sameSet(a, b []uint64) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
