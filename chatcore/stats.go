package chatcore

import (
	"io/fs"
	"path/filepath"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
)

// Observer hears about a node's work as it happens, so that an embedder can
// keep metrics without chatcore depending on a metrics library. Its methods
// are called on hot paths: they must be quick and must not block.
type Observer interface {
	// Proposed reports one Raft proposal on shard (retries included):
	// how long it took to commit and apply, and its error, nil if it
	// committed.
	Proposed(shard uint64, took time.Duration, err error)
	// Sent reports the outcome of one Send: its result (Duplicate set
	// for a retried message id) or its error.
	Sent(res SendResult, err error)
	// Delivered reports n messages handed to a local subscriber, read
	// from the in-memory tail or, for a subscriber that is behind, from
	// the state db.
	Delivered(n int, fromDisk bool)
}

// nopObserver is the Observer of a node configured without one.
type nopObserver struct{}

func (nopObserver) Proposed(uint64, time.Duration, error) {}
func (nopObserver) Sent(SendResult, error)                {}
func (nopObserver) Delivered(int, bool)                   {}

// ShardStats is the local replica's view of one shard.
type ShardStats struct {
	Shard uint64
	// LeaderID is the shard's leader as this replica knows it (0: none
	// known); IsLeader is set when that is this node.
	LeaderID uint64
	IsLeader bool
	Term     uint64
	// LastLog is the index of the last entry in this node's Raft log,
	// committed or not; Applied is the index of the last entry applied to
	// the state db. (Dragonboat does not expose a replica's commit index:
	// Applied <= commit <= LastLog.)
	LastLog, Applied uint64
	NonVoting        bool
}

// ShardStats returns the stats of every shard this node hosts a replica of,
// from memory and the local disk only: no Raft round trip.
func (n *Node) ShardStats() []ShardStats {
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return nil
	}
	out := make([]ShardStats, 0, len(info.ShardInfoList))
	for _, si := range info.ShardInfoList {
		if si.Pending {
			continue
		}
		st := ShardStats{Shard: si.ShardID, LeaderID: si.LeaderID, IsLeader: si.LeaderID == si.ReplicaID && si.LeaderID != 0,
			Term: si.Term, NonVoting: si.IsNonVoting}
		if r, err := n.nh.GetLogReader(si.ShardID); err == nil {
			_, st.LastLog = r.GetRange()
		}
		if v, err := getUint64(n.db.db, appliedKey(si.ShardID)); err == nil {
			st.Applied = v
		}
		out = append(out, st)
	}
	return out
}

// SubscriptionStats counts the node's open subscriptions and how far
// behind their rooms' heads they are, in messages.
type SubscriptionStats struct {
	Open int
	// TotalLag and MaxLag are over the open subscriptions.
	TotalLag, MaxLag uint64
}

// subscriptions is the node's set of open subscriptions.
type subscriptions struct {
	mu  sync.Mutex
	set map[*Subscription]struct{}
}

func (s *subscriptions) add(sub *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.set == nil {
		s.set = make(map[*Subscription]struct{})
	}
	s.set[sub] = struct{}{}
}

func (s *subscriptions) remove(sub *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.set, sub)
}

func (s *subscriptions) list() []*Subscription {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]*Subscription, 0, len(s.set))
	for sub := range s.set {
		out = append(out, sub)
	}
	return out
}

// SubscriptionStats returns the count and lag of the open subscriptions.
func (n *Node) SubscriptionStats() SubscriptionStats {
	var st SubscriptionStats
	for _, sub := range n.subs.list() {
		lag := sub.Lag()
		st.Open++
		st.TotalLag += lag
		st.MaxLag = max(st.MaxLag, lag)
	}
	return st
}

// Lag returns how many messages of the room the subscription has not
// delivered yet: the room's head minus the last seq delivered.
func (s *Subscription) Lag() uint64 {
	head := s.n.hub.head(s.room)
	next := s.next.Load()
	if head < next {
		return 0
	}
	return head - next + 1
}

// DiskUsage returns the bytes the node's state db and its Raft log (with
// snapshots) take on disk.
func (n *Node) DiskUsage() (stateDB, raftLog int64) {
	return dirSize(filepath.Join(n.cfg.DataDir, "state")), dirSize(filepath.Join(n.cfg.DataDir, "raft"))
}

// dirSize sums the sizes of the regular files under dir; files that vanish
// while it walks (pebble compacts) are skipped.
func dirSize(dir string) int64 {
	var total int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				total += info.Size()
			}
		}
		return nil
	})
	return total
}
