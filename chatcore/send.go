package chatcore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// SendParams is one message to commit.
type SendParams struct {
	Room string
	User string
	// ID is the client's message id; a retried send with the same id
	// returns the original seq. It must not be zero.
	ID   [16]byte
	Text string
}

// Send commits a message on a quorum of its room's shard and returns its
// seq. It retries through leader changes until ctx ends. Only its two
// participants may write to a direct-message room (parley.ErrForbidden, see
// parley.CheckAccess; checked after the names and the text).
func (n *Node) Send(ctx context.Context, p SendParams) (SendResult, error) {
	res, err := n.send(ctx, p)
	n.obs.Sent(res, err)
	return res, err
}

func (n *Node) send(ctx context.Context, p SendParams) (SendResult, error) {
	if err := parley.ValidateRoom(p.Room); err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if err := parley.ValidateUser(p.User); err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if err := parley.ValidateText(p.Text); err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if err := parley.CheckAccess(p.Room, p.User); err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if p.ID == ([16]byte{}) {
		return SendResult{}, fmt.Errorf("send: zero message id: %w", parley.ErrInvalid)
	}
	shard, err := n.RoomShard(p.Room)
	if err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if err := n.ensureRoom(ctx, p.Room, p.User); err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	cmd := roomCommand{Op: roomOpSend, Room: p.Room, User: p.User, ID: p.ID, TS: time.Now().UnixNano(), Text: p.Text}
	item, err := n.proposer(shard).submit(ctx, cmd)
	if err != nil {
		return SendResult{}, fmt.Errorf("send: %w", err)
	}
	if item.Reject != "" {
		return SendResult{}, fmt.Errorf("send: rejected by state machine: %s: %w", item.Reject, parley.ErrInvalid)
	}
	return SendResult{Room: p.Room, Seq: item.Seq, ID: p.ID, TS: item.TS, Duplicate: item.Duplicate}, nil
}

// ensureRoom records a room in the registry's directory the first time this
// node sees it. Creating a room twice is harmless: the first record wins.
// A room found or created once is remembered, so later sends into it
// neither read nor decode its registry record.
func (n *Node) ensureRoom(ctx context.Context, room, user string) error {
	if n.rooms.has(room) {
		return nil
	}
	_, closer, err := n.db.db.Get(regKey(regRoom, room))
	if err == nil {
		closer.Close()
		n.rooms.add(room)
		return nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return fmt.Errorf("state db: %w", err)
	}
	newRec := &RoomRecord{Name: room, Creator: user, Created: time.Now().UnixNano()}
	v, err := n.proposeRegistry(ctx, registryCommand{Op: regOpCreateRoom, Room: newRec})
	if err != nil {
		return err
	}
	switch v {
	case regQuotaRooms, regQuotaRate:
		info, _, _ := n.clusterInfo()
		return quotaError(v, info.Quotas, newRec)
	case regApplied, regExisted:
		n.rooms.add(room)
	}
	return nil
}

// RoomShard returns the shard that holds room.
func (n *Node) RoomShard(room string) (uint64, error) {
	n.mu.Lock()
	r := n.ring
	n.mu.Unlock()
	if r == nil {
		info, found, err := n.clusterInfo()
		if err != nil {
			return 0, err
		}
		if !found {
			return 0, fmt.Errorf("registry not yet replicated here: %w", parley.ErrUnavailable)
		}
		r = placement.NewRing(placement.RoomShards(info.Shards))
		n.mu.Lock()
		n.ring = r
		n.mu.Unlock()
	}
	return r.Shard(room), nil
}
