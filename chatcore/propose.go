package chatcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/parleychat/parley"
)

// attemptTimeout bounds one proposal attempt; propose retries until the
// caller's context ends. An attempt also ends early when the shard's leader
// changes (see leaderWatch), so the timeout only matters when a proposal is
// lost without any leader change.
const attemptTimeout = 2 * time.Second

// propose commits cmd on shard, retrying through elections and busy spells.
// Only commands that are safe to apply twice may be proposed: a timed-out
// attempt may still commit. Room sends are, thanks to message ids.
func (n *Node) propose(ctx context.Context, shard uint64, cmd []byte) (sm.Result, error) {
	start := time.Now()
	res, err := n.proposeRetrying(ctx, shard, cmd)
	n.obs.Proposed(shard, time.Since(start), err)
	return res, err
}

func (n *Node) proposeRetrying(ctx context.Context, shard uint64, cmd []byte) (sm.Result, error) {
	session := n.nh.GetNoOPSession(shard)
	backoff := 10 * time.Millisecond
	for {
		n.fences.wait(shard, n.stop)
		t0 := time.Now()
		res, leaderChanged, err := n.proposeOnce(ctx, shard, session, cmd)
		if err == nil {
			return res, nil
		}
		n.log.Debug("propose: attempt failed", "shard", shard, "took", time.Since(t0), "leader_changed", leaderChanged, "err", err.Error())
		select {
		case <-n.stop:
			return sm.Result{}, ErrClosed
		default:
		}
		if leaderChanged && ctx.Err() == nil {
			continue // a new leader: try it at once
		}
		if !retryable(err) {
			return sm.Result{}, mapRaftError(err)
		}
		select {
		case <-ctx.Done():
			return sm.Result{}, fmt.Errorf("shard %d: %w: %w", shard, parley.ErrUnavailable, ctx.Err())
		case <-n.stop:
			return sm.Result{}, ErrClosed
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

// proposeOnce is one attempt of propose. It gives up early, reporting
// leaderChanged, when the shard's leader changes while it waits, or when
// the node closes.
func (n *Node) proposeOnce(ctx context.Context, shard uint64, session *client.Session, cmd []byte) (sm.Result, bool, error) {
	changed := n.leaders.changed(shard)
	actx, cancel := context.WithTimeout(ctx, attemptTimeout)
	defer cancel()
	defer context.AfterFunc(changed, cancel)()
	res, err := n.nh.SyncPropose(actx, session, cmd)
	return res, err != nil && changed.Err() != nil, err
}

// readBarrierOn waits until the local replica of shard has applied every
// entry committed before the call (a ReadIndex round through the leader).
func (n *Node) readBarrierOn(ctx context.Context, shard uint64) error {
	backoff := 10 * time.Millisecond
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		_, err := n.nh.SyncRead(actx, shard, readBarrier{})
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return mapRaftError(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %d: %w: %w", shard, parley.ErrUnavailable, ctx.Err())
		case <-n.stop:
			return ErrClosed
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 250*time.Millisecond)
	}
}

func retryable(err error) bool {
	return errors.Is(err, dragonboat.ErrShardNotReady) ||
		errors.Is(err, dragonboat.ErrSystemBusy) ||
		errors.Is(err, dragonboat.ErrTimeout) ||
		errors.Is(err, dragonboat.ErrAborted) ||
		errors.Is(err, dragonboat.ErrRejected) ||
		errors.Is(err, dragonboat.ErrCanceled) ||
		errors.Is(err, context.DeadlineExceeded)
}

func mapRaftError(err error) error {
	switch {
	case errors.Is(err, dragonboat.ErrShardNotFound):
		return fmt.Errorf("raft: %w: %w", ErrNotHosted, err)
	case errors.Is(err, dragonboat.ErrClosed), errors.Is(err, dragonboat.ErrShardClosed):
		return fmt.Errorf("raft: %w: %w", ErrClosed, err)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("raft: %w", err)
	}
	return fmt.Errorf("raft: %w: %w", parley.ErrUnavailable, err)
}
