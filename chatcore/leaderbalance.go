package chatcore

import (
	"time"

	"github.com/parleychat/parley/placement"
)

// Leader balance timing: a shard's leadership moves at most once per
// transferCooldown from this node, and only after the heartbeats had time
// to report the last moves (no two transfers from one node within two
// heartbeats) (each node reports what it leads every
// heartbeatInterval), so stale reports do not make leaders flap.
const transferCooldown = 5 * time.Second

// balanceLeaders spreads room-shard leaders over the live nodes, the busy
// shards' apart from the others (placement.BalanceLeadersByLoad over the
// leaders and loads the heartbeats report, see shardload.go): for
// each transfer away from this node it asks dragonboat to hand the
// leadership over. Every node computes the same plan from the registry; each
// carries out only its own part.
//
// Nothing moves while a node is suspect (neither down nor fit to lead: it
// may have just died, or just come back), and a transfer waits for a quiet
// moment of its shard or does not happen (see transferWhenQuiet): balance
// is worth less than the stall a transfer at the wrong time costs.
func (n *Node) balanceLeaders(nodes []NodeRecord, now time.Time) {
	if s := n.suspects(nodes, now); len(s) > 0 {
		return
	}
	shards := make(map[uint64]placement.ShardLeader)
	busy := make(map[uint64]bool)
	terms := make(map[uint64]uint64)
	var live []uint64
	for _, rec := range nodes {
		if rec.State != NodeActive || n.isDown(rec.ID, now) {
			continue
		}
		live = append(live, rec.ID)
		for _, r := range rec.Leads {
			if t, ok := terms[r.Shard]; ok && t >= r.Term {
				continue
			}
			terms[r.Shard] = r.Term
			shards[r.Shard] = placement.ShardLeader{Leader: rec.ID, Voters: r.Voters}
			busy[r.Shard] = r.Busy
		}
	}
	for _, t := range placement.BalanceLeadersByLoad(shards, busy, live) {
		if t.From != n.id.NodeID || !n.leadsNow(t.Shard) {
			continue
		}
		n.moves.mu.Lock()
		due := !n.moves.transferring && now.Sub(n.moves.transfers[t.Shard]) > transferCooldown && now.Sub(n.moves.lastTransfer) > 2*heartbeatInterval
		n.moves.mu.Unlock()
		if !due {
			continue
		}
		p, err := n.placement(t.Shard)
		if err != nil {
			continue
		}
		rid, ok := p.Replicas[t.To]
		if !ok {
			continue
		}
		shard := t.Shard
		n.transferWhenQuiet(shard, t.To, rid, false, "leader balance", func(bool) {
			// Requested or put off, the shard waits out its cooldown
			// and the node its spacing: the reports must catch up first,
			// and a busy shard is not tried again at once.
			n.moves.mu.Lock()
			defer n.moves.mu.Unlock()
			at := time.Now()
			n.moves.transfers[shard] = at
			n.moves.lastTransfer = at
		})
		return // one at a time
	}
}
