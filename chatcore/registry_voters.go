package chatcore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"

	"github.com/parleychat/parley/placement"
)

// The registry's own membership. Every node follows the registry, as a
// voter or a non-voting member, under the replica id that is its node id.
// The registry leader's placement loop keeps up to placement.RegistryVoters
// voters on live nodes, one membership change per round:
//
//  1. The wanted voters are placement.WantedRegistryVoters over the live
//     active nodes, plus every current voter that is live and active: a
//     live voter is never demoted (dragonboat cannot turn a voter into a
//     non-voting member, and its replica id, its node id, could not come
//     back once removed).
//  2. A wanted node that is not a voter yet promotes itself once its
//     non-voting replica has caught up (promoteSelf): the voters grow
//     before any shrink.
//  3. Only once every wanted node votes does the leader delete the replica
//     of one voter that is not wanted and gone: dead (silent past the
//     cluster's dead-after) or removed by an admin. A draining voter keeps
//     its vote, already moved to its replacement, until the drain ends and
//     it is removed. The leader never deletes a replica when the voters
//     left would not hold a live quorum, and hands leadership over first if
//     the one to go is itself.
//  4. The replica of a removed node that was non-voting goes too.
//
// A dead voter whose replica was deleted stays out: dragonboat refuses its
// replica id, and no other id can reach it since its own registry replica no
// longer hears from the cluster. If it comes back it cannot reach a
// registry quorum (its /healthz says 503 and it logs why); an operator
// wipes its data dir and joins it again as a new node. A dead non-voting
// member keeps its registry replica: if it comes back it catches up, learns
// its room replicas were replaced and rejoins them empty.

// placeRegistry takes the registry's next membership step (see above).
func (n *Node) placeRegistry(ctx context.Context, info ClusterInfo, nodes []NodeRecord, candidates []uint64, now time.Time) {
	m, err := n.nh.SyncGetShardMembership(ctx, placement.RegistryShard)
	if err != nil {
		return
	}
	var voters []uint64
	for id := range m.Nodes {
		voters = append(voters, id)
	}
	slices.Sort(voters)
	wanted := placement.WantedRegistryVoters(voters, candidates)
	for _, v := range voters {
		if slices.Contains(candidates, v) && !slices.Contains(wanted, v) {
			wanted = append(wanted, v)
		}
	}
	p, err := n.placement(placement.RegistryShard)
	if err == nil && !sameSet(p.Voters, wanted) {
		if err := n.setPlacement(ctx, placement.RegistryShard, wanted); err != nil {
			return
		}
	}
	state := make(map[uint64]string, len(nodes))
	for _, rec := range nodes {
		state[rec.ID] = rec.State
	}
	gone := func(id uint64) bool {
		return state[id] == NodeRemoved ||
			id != n.id.NodeID && n.live.silentFor(id, now) > info.DeadAfterOrDefault()
	}
	for _, w := range wanted {
		if !slices.Contains(voters, w) {
			return // a replacement still to promote itself
		}
	}
	for _, v := range voters {
		if slices.Contains(wanted, v) || !gone(v) {
			continue
		}
		if !n.liveQuorumWithout(voters, v, now) {
			n.log.Warn("placement: registry voter gone, but removing it would leave no live quorum", "node", v)
			return
		}
		n.deleteRegistryReplica(ctx, v, wanted, m.ConfigChangeID, "voter")
		return
	}
	for _, rec := range nodes {
		if _, learner := m.NonVotings[rec.ID]; learner && rec.State == NodeRemoved {
			n.deleteRegistryReplica(ctx, rec.ID, wanted, m.ConfigChangeID, "non-voting member")
			return
		}
	}
}

// liveQuorumWithout reports whether voters without leaving hold a quorum of
// nodes that are not down.
func (n *Node) liveQuorumWithout(voters []uint64, leaving uint64, now time.Time) bool {
	rest, up := 0, 0
	for _, v := range voters {
		if v == leaving {
			continue
		}
		rest++
		if !n.isDown(v, now) {
			up++
		}
	}
	return rest > 0 && up >= rest/2+1
}

// deleteRegistryReplica deletes node's registry replica, or, if that is
// this node (the leader), hands the registry's leadership to a wanted voter
// first.
func (n *Node) deleteRegistryReplica(ctx context.Context, node uint64, wanted []uint64, ccid uint64, role string) {
	if node == n.id.NodeID {
		for _, w := range wanted {
			if w != n.id.NodeID {
				_ = n.nh.RequestLeaderTransfer(placement.RegistryShard, w)
				return
			}
		}
		return
	}
	n.log.Info("placement: deleting a registry replica", "node", node, "role", role)
	if err := n.nh.SyncRequestDeleteReplica(ctx, placement.RegistryShard, node, ccid); err != nil {
		n.log.Debug("placement: delete registry replica", "node", node, "err", err)
	}
}

// registryWantsVoter reports whether the registry, whose membership is m and
// whose placement wants the voters in p, is short of a wanted voter: a
// non-voting member the placement wants promotes itself only then, so the
// voters grow by one at a time and never past the wanted ones plus those
// about to be deleted.
func registryWantsVoter(p Placement, m *dragonboat.Membership) bool {
	present := 0
	for _, v := range p.Voters {
		if _, ok := m.Nodes[v]; ok {
			present++
		}
	}
	return present < len(p.Voters)
}

// registryUnreachableAfter is how long a node goes without a registry
// leader before it says so in its log, and how often it repeats it.
const registryUnreachableAfter = 30 * time.Second

// registryWatch remembers when this node last saw its registry replica
// know a leader.
type registryWatch struct {
	mu         sync.Mutex
	lastLeader time.Time
	warned     time.Time
}

// watchRegistry logs, every registryUnreachableAfter, that this node's
// registry replica has known no leader for that long: the cluster is down
// to less than a quorum, or this node was a voter that the others replaced
// while it was away and now stays out (see placeRegistry).
func (n *Node) watchRegistry(now time.Time) {
	_, _, ok, err := n.nh.GetLeaderID(placement.RegistryShard)
	w := &n.regWatch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lastLeader.IsZero() || ok && err == nil {
		w.lastLeader = now
		return
	}
	if now.Sub(w.lastLeader) < registryUnreachableAfter || now.Sub(w.warned) < registryUnreachableAfter {
		return
	}
	w.warned = now
	n.log.Warn("no registry leader heard for a while: either less than a quorum of the registry's voters is running, "+
		"or this node was replaced while it was away (the other nodes' status lists it down and not among the registry's voters); "+
		"a replaced node stays out: wipe its data dir and join it again",
		"silent", now.Sub(w.lastLeader).Round(time.Second))
}
