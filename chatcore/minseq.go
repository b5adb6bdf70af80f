package chatcore

import (
	"context"
	"fmt"

	"github.com/parleychat/parley"
)

// WaitApplied returns once this node's replica of room has applied seq (or
// a later one), if user may read room (see parley.CheckAccess): read-your-writes for a client that passes the seq of its
// last acknowledged send, whichever node acknowledged it. It waits until
// ctx ends and then returns an error wrapping parley.ErrUnavailable that
// says how far the replica is.
func (n *Node) WaitApplied(ctx context.Context, room, user string, seq uint64) error {
	if err := parley.ValidateRoom(room); err != nil {
		return fmt.Errorf("wait for seq: %w", err)
	}
	if err := parley.CheckAccess(room, user); err != nil {
		return fmt.Errorf("wait for seq: %w", err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return fmt.Errorf("wait for seq: %w", err)
	}
	// Registered with the hub first, so no apply can slip between reading
	// the head and waiting for it to move.
	last, err := n.hub.attach(shard, room)
	if err != nil {
		return fmt.Errorf("wait for seq: %w", err)
	}
	defer n.hub.detach(room)
	for last < seq {
		var wake <-chan struct{}
		last, _, wake = n.hub.poll(room, last+1, 0)
		if last >= seq {
			break
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return fmt.Errorf("room %s: seq %d not applied on this node yet (it has %d): %w: %w", room, seq, last, parley.ErrUnavailable, ctx.Err())
		case <-n.stop:
			return ErrClosed
		}
	}
	return nil
}
