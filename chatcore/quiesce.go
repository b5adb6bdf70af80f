package chatcore

import (
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/parleychat/parley/placement"
)

// Quiesce. An idle room shard stops ticking and heartbeating: after
// 20×electionRTT ticks (dragonboat's quiesce threshold: 80 ticks of 50 ms,
// 4 s) without traffic other than heartbeats, its leader tells the
// followers to quiesce (dragonboat's Config.Quiesce). Parley's own loops
// must then leave idle shards alone (see settledKey). The registry shard never
// quiesces (every node writes its heartbeat into it every second), so the
// Raft transport keeps talking to every peer and notices a dead one.
//
// A quiesced follower does not run its election timer: dragonboat's
// quiescedTick only counts ticks, and only a message received from a peer,
// a ReadIndex or a membership change wakes it, not a proposal (dragonboat
// node.go, handleProposals records nothing). So when the leader of a
// quiesced shard dies, its followers sleep on: a send is forwarded to the
// dead leader and lost, and nothing wakes the shard until some unrelated
// message arrives (a restarted peer's vote request, say), seconds later.
// That is why quiesce once made failover slow.
//
// wakeLoop closes that hole: whenever the transport fails to reach a peer,
// and every wakeCheckInterval besides, every local replica of a room shard
// whose leader is unknown, or on a node that is unreachable or whose
// heartbeat is stale, gets a ReadIndex. The ReadIndex wakes the replica;
// its election timer ran out while it slept, so it campaigns on its next
// tick, and its vote requests wake the other survivors. A killed leader's
// connections break, so its quiesced shards elect a new leader a few
// ticks after the transport notices, no later than awake ones (200–400
// ms). A frozen or cut-off leader breaks no connection: its quiesced
// shards wait until its heartbeat is stale (freshFor, 2 s), where awake
// ones elect after their election timeout.

// quiesceAfter is how long a room shard must be idle before it quiesces:
// dragonboat's threshold of 10 × 2 × electionRTT ticks (quiesce.go,
// threshold; node.go sets its electionTick to twice ElectionRTT).
const quiesceAfter = 20 * electionRTT * RTTMillisecond * time.Millisecond

// wakeCheckInterval is how often wakeLoop looks for orphaned replicas when
// the transport reports nothing, for a leader whose node went silent
// without a connection error.
const wakeCheckInterval = heartbeatInterval

// wakeTimeout bounds a wake-up ReadIndex; it usually ends sooner, with the
// election that makes it moot.
const wakeTimeout = time.Second

// wakeLoop wakes orphaned room shards (see above) until the node stops.
func (n *Node) wakeLoop() {
	t := time.NewTicker(wakeCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.removed:
			return
		case <-n.reach.failures():
		case <-t.C:
		}
		n.wakeOrphans(n.orphans(time.Now()))
	}
}

// orphans returns the room shards whose local voting replica neither leads
// nor knows a leader it can reach: no leader, or one on a node the
// transport failed to reach since it last did, or one whose heartbeat is
// not fresh (a frozen or cut-off node breaks no connection).
func (n *Node) orphans(now time.Time) []uint64 {
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return nil
	}
	var stale map[string]bool
	var out []uint64
	for _, s := range info.ShardInfoList {
		if s.ShardID == placement.RegistryShard || s.IsNonVoting || s.IsWitness || s.Pending || s.LeaderID == s.ReplicaID {
			continue
		}
		addr, known := s.Replicas[s.LeaderID]
		if known {
			if _, failed := n.reach.failedAt(addr); !failed {
				if stale == nil {
					stale = n.staleAddrs(now)
				}
				if !stale[addr] {
					continue
				}
			}
		}
		out = append(out, s.ShardID)
	}
	return out
}

// staleAddrs returns the Raft addresses of the other nodes whose heartbeat
// has not changed for freshFor.
func (n *Node) staleAddrs(now time.Time) map[string]bool {
	out := make(map[string]bool)
	nodes, err := n.Nodes()
	if err != nil {
		return out
	}
	for _, rec := range nodes {
		if rec.ID != n.id.NodeID && n.live.silentFor(rec.ID, now) > freshFor {
			out[rec.RaftAddr] = true
		}
	}
	return out
}

// wakeOrphans sends a ReadIndex to the local replica of every shard in
// shards, which takes it out of quiesce, and waits for them to end.
func (n *Node) wakeOrphans(shards []uint64) {
	var reqs []*dragonboat.RequestState
	for _, s := range shards {
		rs, err := n.nh.ReadIndex(s, wakeTimeout)
		if err != nil {
			n.log.Debug("wake", "shard", s, "err", err)
			continue
		}
		n.log.Debug("wake", "shard", s)
		reqs = append(reqs, rs)
	}
	for _, rs := range reqs {
		select {
		case <-rs.ResultC():
		case <-n.stop:
			return
		}
		rs.Release()
	}
}
