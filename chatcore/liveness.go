package chatcore

import (
	"context"
	"sync"
	"time"
)

// Liveness timing. Every node writes a heartbeat into the registry every
// heartbeatInterval; every node watches the others' heartbeats change in
// its own registry replica, on its own monotonic clock, so no two clocks are
// compared. A node whose heartbeat has not changed for downAfter is down:
// moves wait for it and it leads nothing. One silent for the cluster's
// dead-after is dead: its replicas are re-created elsewhere.
const (
	heartbeatInterval = time.Second
	downAfter         = 4 * time.Second
)

// Leadership timing. Leadership is handed only to a node that is surely
// alive now, since a transfer to a dead node stops the shard taking
// proposals until the transfer times out, and down (downAfter) comes too
// late for that. A node is fit to lead when the local Raft transport
// reaches it, its heartbeat changed within freshFor, and it has beaten
// without a gap for steadyFor (a restarted node first catches up). A node
// neither down nor fit is suspect: while one is, leaders are not balanced
// at all, as the cluster is changing under the plan.
const (
	freshFor  = 2 * heartbeatInterval
	steadyFor = 3 * heartbeatInterval
)

// liveness tracks when each node's heartbeat last changed, as this node saw
// it.
type liveness struct {
	mu    sync.Mutex
	beats map[uint64]beatSeen
}

type beatSeen struct {
	beat int64
	// at is when beat was first seen; upSince when the current run of
	// beats without a gap longer than freshFor began.
	at, upSince time.Time
}

func newLiveness() *liveness { return &liveness{beats: make(map[uint64]beatSeen)} }

// observe records the heartbeats in nodes. A node seen for the first time
// counts as heard from now.
func (l *liveness) observe(nodes []NodeRecord, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rec := range nodes {
		b, ok := l.beats[rec.ID]
		switch {
		case !ok:
			l.beats[rec.ID] = beatSeen{beat: rec.Beat, at: now, upSince: now}
		case b.beat != rec.Beat:
			if now.Sub(b.at) > freshFor {
				b.upSince = now
			}
			b.beat, b.at = rec.Beat, now
			l.beats[rec.ID] = b
		}
	}
}

// silentFor returns how long node's heartbeat has not changed.
func (l *liveness) silentFor(node uint64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.beats[node]
	if !ok {
		return 0
	}
	return now.Sub(b.at)
}

// steadyFor returns how long node has beaten without a gap, or 0 if its
// heartbeat is not fresh.
func (l *liveness) steadyFor(node uint64, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.beats[node]
	if !ok || now.Sub(b.at) > freshFor {
		return 0
	}
	return now.Sub(b.upSince)
}

// beatSince reports whether node's heartbeat changed after t.
func (l *liveness) beatSince(node uint64, t time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.beats[node]
	return ok && b.at.After(t)
}

// fitToLead reports whether leadership may be handed to rec's node now: the
// local transport has not failed to reach it since its latest heartbeat,
// and its heartbeat is fresh and has been for steadyFor (see freshFor).
func (n *Node) fitToLead(rec NodeRecord, now time.Time) bool {
	if rec.ID == n.id.NodeID {
		return true
	}
	if failed, ok := n.reach.failedAt(rec.RaftAddr); ok && !n.live.beatSince(rec.ID, failed) {
		return false
	}
	return rec.State == NodeActive && n.live.steadyFor(rec.ID, now) >= steadyFor
}

// suspects returns the active nodes among nodes that are neither down nor
// fit to lead: ones that may have just died, or have just come back.
func (n *Node) suspects(nodes []NodeRecord, now time.Time) []uint64 {
	var out []uint64
	for _, rec := range nodes {
		if rec.State == NodeActive && !n.isDown(rec.ID, now) && !n.fitToLead(rec, now) {
			out = append(out, rec.ID)
		}
	}
	return out
}

// isDown reports whether node is down as this node sees it: silent for
// downAfter. This node is never down to itself.
func (n *Node) isDown(node uint64, now time.Time) bool {
	return node != n.id.NodeID && n.live.silentFor(node, now) > downAfter
}

// NodeUp reports whether node's heartbeat was heard lately, as this node
// sees it (this node is always up to itself).
func (n *Node) NodeUp(node uint64) bool { return !n.isDown(node, time.Now()) }

// downNodes returns the nodes among nodes that are down.
func (n *Node) downNodes(nodes []NodeRecord, now time.Time) []uint64 {
	var out []uint64
	for _, rec := range nodes {
		if n.isDown(rec.ID, now) {
			out = append(out, rec.ID)
		}
	}
	return out
}

// heartbeatLoop writes this node's heartbeat, with the shards it leads,
// into the registry every heartbeatInterval, on the beats of nextBeat.
func (n *Node) heartbeatLoop() {
	t := time.NewTimer(nextBeat(time.Now()))
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.removed:
			return
		case <-t.C:
		}
		n.beat()
		t.Reset(nextBeat(time.Now()))
	}
}

// nextBeat is how long after now the next heartbeat is due: at the next
// multiple of heartbeatInterval on the wall clock. The nodes of a LAN, whose
// clocks agree to within milliseconds, then beat at about the same instant,
// and the registry's leader can commit beats that arrive together in one
// Raft round (one append, one fsync, one message to each peer) instead of
// one round per node. Clocks that disagree cost nothing but that saving.
func nextBeat(now time.Time) time.Duration {
	return now.Truncate(heartbeatInterval).Add(heartbeatInterval).Sub(now)
}

// beat proposes one heartbeat.
func (n *Node) beat() {
	ctx, cancel := context.WithTimeout(context.Background(), heartbeatInterval)
	defer cancel()
	now := time.Now()
	leads := n.moves.reports(n.leadsNow)
	for i := range leads {
		leads[i].Busy = n.load.busy(leads[i].Shard, now)
	}
	cmd := registryCommand{
		Op: regOpHeartbeat, TS: now.UnixNano(), Target: n.id.NodeID,
		Node: &NodeRecord{Leads: leads},
	}
	if _, err := n.proposeRegistry(ctx, cmd); err != nil {
		n.log.Debug("heartbeat", "err", err)
	}
}

// leadsNow reports whether the local replica of shard leads it now.
func (n *Node) leadsNow(shard uint64) bool {
	replica, ok := n.localReplica(shard)
	if !ok {
		return false
	}
	leader, _, valid, err := n.nh.GetLeaderID(shard)
	return err == nil && valid && leader == replica
}
