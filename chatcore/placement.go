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
//     members. A voter is never demoted (its replica id is its node id and
//     could not come back), only a removed node's registry replica goes.
func (n *Node) placeAll(info ClusterInfo, nodes []NodeRecord, now time.Time) {
	var candidates, active []uint64
	for _, rec := range nodes {
		if rec.State != NodeActive {
			continue
		}
		active = append(active, rec.ID)
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
	n.placeRegistry(ctx, all, active, candidates)
}

// placeRegistry keeps the registry's wanted voters in the registry, so the
// non-voting ones promote themselves, and deletes the registry replica of
// one removed node per round.
func (n *Node) placeRegistry(ctx context.Context, nodes []NodeRecord, active, candidates []uint64) {
	m, err := n.nh.SyncGetShardMembership(ctx, placement.RegistryShard)
	if err != nil {
		return
	}
	var voters []uint64
	for id := range m.Nodes {
		voters = append(voters, id)
	}
	wanted := placement.WantedRegistryVoters(voters, candidates)
	for _, v := range voters {
		if slices.Contains(active, v) && !slices.Contains(wanted, v) {
			wanted = append(wanted, v)
		}
	}
	p, err := n.placement(placement.RegistryShard)
	if err == nil && !sameSet(p.Voters, wanted) {
		if err := n.setPlacement(ctx, placement.RegistryShard, wanted); err != nil {
			return
		}
	}
	for _, rec := range nodes {
		if rec.State != NodeRemoved {
			continue
		}
		_, voter := m.Nodes[rec.ID]
		_, learner := m.NonVotings[rec.ID]
		if !voter && !learner {
			continue
		}
		if rec.ID == n.id.NodeID {
			for _, w := range wanted {
				if w != n.id.NodeID {
					_ = n.nh.RequestLeaderTransfer(placement.RegistryShard, w)
					return
				}
			}
			return
		}
		n.log.Info("placement: deleting the registry replica of a removed node", "node", rec.ID)
		if err := n.nh.SyncRequestDeleteReplica(ctx, placement.RegistryShard, rec.ID, m.ConfigChangeID); err != nil {
			n.log.Debug("placement: delete registry replica", "node", rec.ID, "err", err)
		}
		return
	}
}

func (n *Node) setPlacement(ctx context.Context, shard uint64, voters []uint64) error {
	_, err := n.proposeRegistry(ctx, registryCommand{Op: regOpSetPlacement, Placement: &Placement{Shard: shard, Voters: voters}})
	return err
}

// sameSet reports whether a and b hold the same ids.
func sameSet(a, b []uint64) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
