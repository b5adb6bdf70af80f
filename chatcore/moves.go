package chatcore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley/placement"
)

// moveState is what the host loop last saw of the room shards this node
// leads: their membership (reported with the heartbeat, so every node can
// tell who leads what), and when it last moved a leadership away.
type moveState struct {
	mu        sync.Mutex
	led       map[uint64]ShardReport
	transfers map[uint64]time.Time
	// lastTransfer is this node's latest leadership transfer of any shard.
	lastTransfer time.Time
	// transferring is set while a transfer waits for a quiet moment (see
	// transferWhenQuiet).
	transferring bool
	// requested are the latest leadership transfers this node asked for,
	// oldest first, at most maxRequested.
	requested []transferRequest
	// putOff counts the transfers given up for want of a quiet moment.
	putOff int
	// settledAt is, per led shard found settled, what that depended on
	// (see settledKey).
	settledAt map[uint64]settledKey
	// checkingKey is, per led shard being checked, the key it is checked
	// with, if known.
	checkingKey map[uint64]settledKey
}

// transferRequest is one leadership transfer a node asked dragonboat for.
type transferRequest struct {
	At        time.Time
	Shard, To uint64
	// Term is the shard's term when the transfer was asked for: a transfer
	// that took effect ends it.
	Term   uint64
	Quiet  bool
	Reason string
}

// maxRequested bounds moveState.requested.
const maxRequested = 64

func newMoveState() *moveState {
	return &moveState{led: make(map[uint64]ShardReport), transfers: make(map[uint64]time.Time), settledAt: make(map[uint64]settledKey), checkingKey: make(map[uint64]settledKey)}
}

func (m *moveState) record(r ShardReport) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.led[r.Shard] = r
}

func (m *moveState) forget(shard uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.led, shard)
}

// reports returns the recorded shards that leads says are still led here,
// by shard id.
func (m *moveState) reports(leads func(uint64) bool) []ShardReport {
	m.mu.Lock()
	var out []ShardReport
	for _, r := range m.led {
		out = append(out, r)
	}
	m.mu.Unlock()
	out = slices.DeleteFunc(out, func(r ShardReport) bool { return !leads(r.Shard) })
	slices.SortFunc(out, func(a, b ShardReport) int { return int(a.Shard) - int(b.Shard) })
	return out
}

// driveMoves takes, for every room shard this node leads, the next safe
// step from its actual membership towards the voters the registry wants
// (placement.NextStep): one membership change per shard per round, each
// guarded by the membership's config-change id.
func (n *Node) driveMoves(info ClusterInfo, nodes []NodeRecord, now time.Time) {
	down := n.downNodes(nodes, now)
	cc := n.localConfigChanges()
	for _, s := range placement.RoomShards(info.Shards) {
		if !n.leadsNow(s) {
			n.moves.forget(s)
			n.moves.checking(s, settledKey{}, false)
			continue
		}
		key, keyed := n.settledKeyOf(s, cc, down)
		if keyed && n.moves.settled(s, key) {
			continue // nothing it depends on changed (see settledKey)
		}
		n.moves.checking(s, key, keyed)
		if err := n.moveShard(s, nodes, down, now); err != nil {
			n.log.Debug("move", "shard", s, "err", err)
		}
	}
}

// moveShard takes one step for shard, which this node leads.
func (n *Node) moveShard(shard uint64, nodes []NodeRecord, down []uint64, now time.Time) error {
	p, err := n.placement(shard)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	m, err := n.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return err
	}
	act := placement.Membership{Leader: n.id.NodeID}
	for rid := range m.Nodes {
		node := p.nodeOf(rid)
		if node == 0 {
			// Not the registry's: an add that raced a release. Leave it to
			// an operator rather than guess at a voter's quorum.
			n.log.Warn("move: voter replica unknown to the registry", "shard", shard, "replica", rid)
			return nil
		}
		act.Voters = append(act.Voters, node)
	}
	for rid := range m.NonVotings {
		node := p.nodeOf(rid)
		if node == 0 {
			return n.nh.SyncRequestDeleteReplica(ctx, shard, rid, m.ConfigChangeID)
		}
		act.NonVoting = append(act.NonVoting, node)
	}
	slices.Sort(act.Voters)
	slices.Sort(act.NonVoting)
	_, term, _, _ := n.nh.GetLeaderID(shard)
	n.moves.record(ShardReport{Shard: shard, Term: term, Voters: act.Voters, NonVoting: act.NonVoting})
	if len(p.Voters) == 0 {
		return nil
	}
	// An assignment with no member behind it, not wanted (or of a replica
	// already removed), is a leftover: release it so its node drops it.
	for node, rid := range p.Replicas {
		_, voter := m.Nodes[rid]
		_, learner := m.NonVotings[rid]
		_, removed := m.Removed[rid]
		if !voter && !learner && (removed || !slices.Contains(p.Voters, node)) {
			return n.releaseReplica(ctx, shard, node, rid)
		}
	}
	step, err := placement.NextStep(act, p.Voters, down)
	if err != nil {
		return err
	}
	if step.Kind == placement.Settled {
		n.moves.settledNow(shard)
	}
	switch step.Kind {
	case placement.AddNonVoting:
		addr := raftAddrOf(nodes, step.Node)
		if addr == "" {
			return nil
		}
		rid, err := n.assignReplica(ctx, shard, step.Node)
		if err != nil || rid == regRejected {
			return err
		}
		n.log.Info("move: add non-voting", "shard", shard, "node", step.Node, "replica", rid)
		return n.nh.SyncRequestAddNonVoting(ctx, shard, rid, addr, m.ConfigChangeID)
	case placement.TransferLeader:
		// To a voter fit to lead, at a quiet moment if one comes soon: a
		// move must finish even under a load that never pauses.
		if to := n.leaderTarget(step.Node, p.Voters, act.Voters, nodes, now); to != 0 {
			n.transferWhenQuiet(shard, to, p.Replicas[to], true, "move", nil)
		}
		return nil
	case placement.Remove:
		rid := p.Replicas[step.Node]
		n.log.Info("move: remove", "shard", shard, "node", step.Node, "replica", rid)
		if err := n.nh.SyncRequestDeleteReplica(ctx, shard, rid, m.ConfigChangeID); err != nil {
			return err
		}
		return n.releaseReplica(ctx, shard, step.Node, rid)
	}
	// Promote: the non-voting node promotes itself once caught up (see
	// promoteSelf). Settled and Wait: nothing to do.
	return nil
}

// leaderTarget returns the node to hand a shard's leadership to in a move:
// pick if it is fit to lead, else another wanted voter that is, or 0 for
// none yet.
func (n *Node) leaderTarget(pick uint64, wanted, voters []uint64, nodes []NodeRecord, now time.Time) uint64 {
	fit := func(id uint64) bool {
		if id == n.id.NodeID || !slices.Contains(wanted, id) || !slices.Contains(voters, id) {
			return false
		}
		for _, rec := range nodes {
			if rec.ID == id {
				return n.fitToLead(rec, now)
			}
		}
		return false
	}
	if fit(pick) {
		return pick
	}
	for _, id := range wanted {
		if fit(id) {
			return id
		}
	}
	return 0
}

func raftAddrOf(nodes []NodeRecord, id uint64) string {
	for _, rec := range nodes {
		if rec.ID == id {
			return rec.RaftAddr
		}
	}
	return ""
}

// assignReplica gets node's replica id of shard from the registry, a new
// one unless it has one.
func (n *Node) assignReplica(ctx context.Context, shard, node uint64) (uint64, error) {
	return n.proposeRegistry(ctx, registryCommand{Op: regOpAssignReplica, Shard: shard, Target: node})
}

// releaseReplica drops node's replica id rid of shard from the registry.
func (n *Node) releaseReplica(ctx context.Context, shard, node, rid uint64) error {
	_, err := n.proposeRegistry(ctx, registryCommand{Op: regOpReleaseReplica, Shard: shard, Target: node, Replica: rid})
	return err
}
