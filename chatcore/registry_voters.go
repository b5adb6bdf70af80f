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
// voter or a non-voting member, under a replica id of its own
// (RegistryReplicaID: its node id at first). The registry leader's
// placement loop keeps up to placement.RegistryVoters voters on live nodes,
// one membership change per round:
//
//  1. The wanted voters are placement.WantedRegistryVoters over the live
//     active nodes, plus every current voter that is live and active: a
//     live voter is never demoted (dragonboat cannot turn a voter into a
//     non-voting member).
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
//  5. A node still in the cluster whose registry replica was deleted (a
//     dead voter) gets the next generation of replica id, never seen by
//     dragonboat, added as a non-voting member at its Raft address. If the
//     node comes back, its old replica hears no leader; it asks another
//     node what the registry says of it (askIfReplaced), drops its old
//     replica with its data and starts the new one empty: it catches up,
//     learns its room replicas were replaced, and takes its share again.

// RegistryReplicaID is the id of node's registry replica of generation
// gen: the node id itself at first (gen 0), then a new id each time the
// registry deletes the node's replica, never reused. Node ids stay below
// 2^32.
func RegistryReplicaID(node, gen uint64) uint64 { return gen<<32 | node }

// registryNodeOf returns the node that runs registry replica id.
func registryNodeOf(replica uint64) uint64 { return replica & (1<<32 - 1) }

// placeRegistry takes the registry's next membership step (see above).
func (n *Node) placeRegistry(ctx context.Context, info ClusterInfo, nodes []NodeRecord, candidates []uint64, now time.Time) {
	m, err := n.nh.SyncGetShardMembership(ctx, placement.RegistryShard)
	if err != nil {
		return
	}
	rid := make(map[uint64]uint64) // node → its replica id in m
	var voters []uint64
	for id := range m.Nodes {
		voters = append(voters, registryNodeOf(id))
		rid[registryNodeOf(id)] = id
	}
	for id := range m.NonVotings {
		rid[registryNodeOf(id)] = id
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
	if n.rejoinReplaced(ctx, nodes, m, rid) {
		return
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
		n.deleteRegistryReplica(ctx, v, rid, wanted, m.ConfigChangeID, "voter")
		return
	}
	for _, rec := range nodes {
		if r, ok := rid[rec.ID]; ok && rec.State == NodeRemoved {
			if _, learner := m.NonVotings[r]; learner {
				n.deleteRegistryReplica(ctx, rec.ID, rid, wanted, m.ConfigChangeID, "non-voting member")
				return
			}
		}
	}
}

// rejoinReplaced takes one step for a node whose registry replica was
// deleted while it is still a member of the cluster: it raises the node's
// registry generation, then adds its replica of the new generation as a
// non-voting member (where it catches up once the node asks for its new
// id, see watchRegistry). It reports whether it took a step.
func (n *Node) rejoinReplaced(ctx context.Context, nodes []NodeRecord, m *dragonboat.Membership, rid map[uint64]uint64) bool {
	for _, rec := range nodes {
		if rec.State == NodeRemoved {
			continue
		}
		want := RegistryReplicaID(rec.ID, rec.RegistryGen)
		if _, removed := m.Removed[want]; removed {
			n.log.Info("placement: a registry replica was deleted; its node gets a new replica id", "node", rec.ID, "generation", rec.RegistryGen+1)
			cmd := registryCommand{Op: regOpRegistryGen, Target: rec.ID, Replica: rec.RegistryGen}
			if _, err := n.proposeRegistry(ctx, cmd); err != nil {
				n.log.Debug("placement: registry generation", "node", rec.ID, "err", err)
			}
			return true
		}
		if _, member := rid[rec.ID]; member {
			continue
		}
		n.log.Info("placement: adding a node to the registry as non-voting", "node", rec.ID, "replica", want)
		if err := n.nh.SyncRequestAddNonVoting(ctx, placement.RegistryShard, want, rec.RaftAddr, m.ConfigChangeID); err != nil {
			n.log.Debug("placement: add registry replica", "node", rec.ID, "err", err)
		}
		return true
	}
	return false
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

// deleteRegistryReplica deletes node's registry replica (rid maps nodes to
// their replica ids), or, if that is this node (the leader), hands the
// registry's leadership to a wanted voter first.
func (n *Node) deleteRegistryReplica(ctx context.Context, node uint64, rid map[uint64]uint64, wanted []uint64, ccid uint64, role string) {
	if node == n.id.NodeID {
		for _, w := range wanted {
			if r, ok := rid[w]; ok && w != n.id.NodeID {
				_ = n.nh.RequestLeaderTransfer(placement.RegistryShard, r)
				return
			}
		}
		return
	}
	n.log.Info("placement: deleting a registry replica", "node", node, "replica", rid[node], "role", role)
	if err := n.nh.SyncRequestDeleteReplica(ctx, placement.RegistryShard, rid[node], ccid); err != nil {
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
	for id := range m.Nodes {
		if slices.Contains(p.Voters, registryNodeOf(id)) {
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
	// asked is when the node last asked the others whether it was
	// replaced (see askIfReplaced).
	asked time.Time
}

// watchRegistry logs, every registryUnreachableAfter, that this node's
// registry replica has known no leader for that long: the cluster is down
// to less than a quorum, or this node was a voter that the others replaced
// while it was away and it has no RegistryPeer to learn its new replica id
// from (see askIfReplaced).
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
		"or this node was replaced while it was away and could not ask another node for its new registry replica id",
		"silent", now.Sub(w.lastLeader).Round(time.Second))
}
