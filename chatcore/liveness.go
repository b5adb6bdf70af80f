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

// liveness tracks when each node's heartbeat last changed, as this node saw
// it.
type liveness struct {
	mu    sync.Mutex
	beats map[uint64]beatSeen
}

type beatSeen struct {
	beat int64
	at   time.Time
}

func newLiveness() *liveness { return &liveness{beats: make(map[uint64]beatSeen)} }

// observe records the heartbeats in nodes. A node seen for the first time
// counts as heard from now.
func (l *liveness) observe(nodes []NodeRecord, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, rec := range nodes {
		if b, ok := l.beats[rec.ID]; !ok || b.beat != rec.Beat {
			l.beats[rec.ID] = beatSeen{beat: rec.Beat, at: now}
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
// into the registry every heartbeatInterval.
func (n *Node) heartbeatLoop() {
	t := time.NewTicker(heartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-n.removed:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), heartbeatInterval)
		cmd := registryCommand{
			Op: regOpHeartbeat, TS: time.Now().UnixNano(), Target: n.id.NodeID,
			Node: &NodeRecord{Leads: n.moves.reports(n.leadsNow)},
		}
		if _, err := n.proposeRegistry(ctx, cmd); err != nil {
			n.log.Debug("heartbeat", "err", err)
		}
		cancel()
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
