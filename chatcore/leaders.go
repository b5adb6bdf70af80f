package chatcore

import (
	"sync"

	"github.com/lni/dragonboat/v4/raftio"
)

// leaderWatch tells proposals when their shard's leader changes. A proposal
// that a follower forwarded to a leader that then died is lost without a
// word: dragonboat only reports it when the attempt times out. Watching
// leader changes lets propose retry as soon as a new leader is known, so a
// send waits out an election, not a timeout.
type leaderWatch struct {
	mu sync.Mutex
	ch map[uint64]chan struct{} // by shard; closed at the shard's next change
}

var _ raftio.IRaftEventListener = (*leaderWatch)(nil)

func newLeaderWatch() *leaderWatch {
	return &leaderWatch{ch: make(map[uint64]chan struct{})}
}

// changed returns a channel closed at shard's next leader change.
func (w *leaderWatch) changed(shard uint64) <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := w.ch[shard]
	if c == nil {
		c = make(chan struct{})
		w.ch[shard] = c
	}
	return c
}

// LeaderUpdated is dragonboat's report of a new leader, or of none, as the
// local replica of a shard sees it.
func (w *leaderWatch) LeaderUpdated(info raftio.LeaderInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.ch[info.ShardID]; c != nil {
		close(c)
		delete(w.ch, info.ShardID)
	}
}
