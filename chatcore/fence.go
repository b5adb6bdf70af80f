package chatcore

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
)

// Fences: a quiet moment for a busy shard's leadership transfer.
//
// dragonboat's transfer target refuses to campaign while it has committed
// entries it has not applied yet, so a transfer only works at a quiet moment
// of its shard (see transferWhenQuiet). A shard under steady load has none:
// every node of the shard keeps proposing, and the leader alone cannot stop
// the proposals the followers forward to it. A leader balanced under load
// would never move.
//
// So before a transfer the leader commits a fence (roomOpFence) to the
// shard. Every node that applies it holds its own new proposals to the
// shard until the shard's leader changes, or for fenceHold at most. The
// proposals in flight commit, the log goes quiet, every follower applies
// what was committed, the target campaigns at once, and the held proposals
// go to the new leader. The sends of the shard pause for about an election
// instead of stalling for seconds behind a transfer that never happens.
//
// A fence changes no state: it is applied, deterministically, as nothing. Its
// hold is a side effect on the applying node, bounded in wall-clock time from
// the moment the leader proposed it, so a fence replayed after a restart, or
// applied late by a lagging node, holds nothing.

// fenceHold bounds how long a fence holds a shard's proposals: the time
// for the proposals in flight to commit, the followers to apply them, the
// log to stay quiet for quietFor and the target to win its election.
const fenceHold = 500 * time.Millisecond

// roomOpFence asks every node of a room shard to hold its proposals to the
// shard for a moment (roomCommand.Fence, see fenceSet).
const roomOpFence uint8 = 17

// fenceCmd is a fence: when and in which term the shard's leader proposed
// it.
type fenceCmd struct {
	// TS is the leader's clock at the proposal, Unix nanoseconds.
	TS int64 `cbor:"1,keyasint"`
	// Term is the leader's term: a node that already knows a later one
	// has seen the leader change, and holds nothing.
	Term uint64 `cbor:"2,keyasint"`
}

// fence applies a fence entry: it changes no state; applyEntries tells the
// node once the entry's batch is in the db.
func (a roomApplier) fence(cmd roomCommand) applyResult {
	if cmd.Fence == nil || cmd.Fence.TS <= 0 || cmd.Room != "" || cmd.User != "" || cmd.Text != "" || len(cmd.Batch) != 0 || cmd.Import != nil {
		return applyResult{reject: "invalid fence"}
	}
	fc := *cmd.Fence
	return applyResult{fence: &fc}
}

// fenceSet is a node's fences: the shards whose proposals it holds now.
type fenceSet struct {
	mu sync.Mutex
	m  map[uint64]heldShard
}

// heldShard holds one shard until the shard's leader changes or until passes.
type heldShard struct {
	until   time.Time
	changed context.Context // ends at the shard's next leader change
}

// raise holds shard's proposals from now until its leader changes or
// fenceHold after ts (the fence's proposal time, Unix nanoseconds), and at
// most fenceHold from now, whatever the proposer's clock said. changed ends
// at the shard's next leader change.
func (f *fenceSet) raise(shard uint64, ts int64, changed context.Context, now time.Time) {
	until := time.Unix(0, ts).Add(fenceHold)
	if limit := now.Add(fenceHold); until.After(limit) {
		until = limit
	}
	if !until.After(now) || changed.Err() != nil {
		return // replayed, applied late, or the leader already changed
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.m == nil {
		f.m = make(map[uint64]heldShard)
	}
	f.m[shard] = heldShard{until: until, changed: changed}
}

// wait returns once shard is not held, or when stop closes.
func (f *fenceSet) wait(shard uint64, stop <-chan struct{}) {
	f.mu.Lock()
	h, ok := f.m[shard]
	f.mu.Unlock()
	if !ok {
		return
	}
	if d := time.Until(h.until); d > 0 && h.changed.Err() == nil {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-h.changed.Done():
		case <-stop:
		}
		t.Stop()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if cur, ok := f.m[shard]; ok && cur.until.Equal(h.until) {
		delete(f.m, shard)
	}
}

// raiseFence is told by a room shard of each fence it applied: unless the
// shard's leader changed since the fence was proposed, the node holds its
// proposals to the shard.
func (n *Node) raiseFence(shard uint64, fc fenceCmd) {
	changed := n.leaders.changed(shard)
	if _, term, valid, err := n.nh.GetLeaderID(shard); err != nil || (valid && term > fc.Term) {
		return
	}
	n.fences.raise(shard, fc.TS, changed, time.Now())
}

// fenceShard commits a fence to room shard, which this node leads, so that
// every node holds its proposals to it for a moment.
func (n *Node) fenceShard(shard uint64) error {
	_, term, _, err := n.nh.GetLeaderID(shard)
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	data, err := cbor.Marshal(roomCommand{Op: roomOpFence, Fence: &fenceCmd{TS: time.Now().UnixNano(), Term: term}})
	if err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), fenceHold)
	defer cancel()
	if _, err := n.propose(ctx, shard, data); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	return nil
}
