package chatcore

import (
	"context"
	"log/slog"
	"sync"

	"github.com/lni/dragonboat/v4/raftio"
)

// leaderWatch tells proposals when their shard's leader changes. A proposal
// that a follower forwarded to a leader that then died is lost without a
// word: dragonboat only reports it when the attempt times out. Watching
// leader changes lets propose retry as soon as a new leader is known, so a
// send waits out an election, not a timeout.
type leaderWatch struct {
	log    *slog.Logger
	mu     sync.Mutex
	shards map[uint64]shardWatch
	closed bool
}

// shardWatch is a context cancelled at its shard's next leader change.
type shardWatch struct {
	ctx    context.Context
	cancel context.CancelFunc
}

var _ raftio.IRaftEventListener = (*leaderWatch)(nil)

func newLeaderWatch(log *slog.Logger) *leaderWatch {
	return &leaderWatch{log: log, shards: make(map[uint64]shardWatch)}
}

// changed returns a context cancelled at shard's next leader change, or
// once the node closes.
func (w *leaderWatch) changed(shard uint64) context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	sw, ok := w.shards[shard]
	if !ok {
		sw.ctx, sw.cancel = context.WithCancel(context.Background())
		if w.closed {
			sw.cancel()
			return sw.ctx
		}
		w.shards[shard] = sw
	}
	return sw.ctx
}

// LeaderUpdated is dragonboat's report of a new leader, or of none, as the
// local replica of a shard sees it.
func (w *leaderWatch) LeaderUpdated(info raftio.LeaderInfo) {
	w.log.Debug("leader changed", "shard", info.ShardID, "leader_replica", info.LeaderID, "term", info.Term)
	w.mu.Lock()
	defer w.mu.Unlock()
	if sw, ok := w.shards[info.ShardID]; ok {
		sw.cancel()
		delete(w.shards, info.ShardID)
	}
}

// close ends every watch, now and from now on: the node is closing, and
// proposals in flight should stop waiting.
func (w *leaderWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for shard, sw := range w.shards {
		sw.cancel()
		delete(w.shards, shard)
	}
}
