package chatcore

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/parleychat/parley"
)

// Subscription follows a room from a seq on: every message exactly once, in
// seq order, with no gap, first from history and then live.
type Subscription struct {
	n     *Node
	room  string
	shard uint64

	next      atomic.Uint64
	done      chan struct{}
	closeOnce sync.Once
}

// Subscribe follows room, read as user, from seq from; from 0 means from
// now (the first message after the room's current head). Only its two
// participants may follow a direct-message room (parley.ErrForbidden, see
// parley.CheckAccess).
func (n *Node) Subscribe(room, user string, from uint64) (*Subscription, error) {
	if err := checkUse(room, user); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	// Registering with the hub before reading anything means no message can
	// fall between history and live delivery.
	last, err := n.hub.attach(shard, room)
	if err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	if from == 0 {
		from = last + 1
	}
	sub := &Subscription{n: n, room: room, shard: shard, done: make(chan struct{})}
	sub.next.Store(from)
	n.subs.add(sub)
	return sub, nil
}

// From returns the seq of the next message the subscription will deliver.
func (s *Subscription) From() uint64 { return s.next.Load() }

// Next blocks until at least one message is available and returns up to max
// of them, in seq order, continuing exactly where the previous call ended.
// It never blocks the node's apply loop: a subscriber that is behind reads
// from the state db. Next must not be called concurrently with itself; Close
// may be called at any time and makes a blocked Next return ErrClosed.
func (s *Subscription) Next(ctx context.Context, max int) ([]parley.Message, error) {
	if max <= 0 {
		max = 256
	}
	for {
		select {
		case <-s.done:
			return nil, ErrClosed
		default:
		}
		if _, ok := s.n.localReplica(s.shard); !ok {
			// Never hosted here, or moved away: follow it elsewhere.
			return nil, fmt.Errorf("subscribe: %s: %w", s.room, ErrNotHosted)
		}
		next := s.next.Load()
		last, msgs, wake := s.n.hub.poll(s.room, next, max)
		if wake == nil {
			return nil, ErrClosed
		}
		fromDisk := false
		if len(msgs) == 0 && next <= last {
			var err error
			msgs, err = readMessages(s.n.db.db, s.shard, s.room, next, min(last, next+uint64(max)-1))
			if err != nil {
				return nil, fmt.Errorf("subscribe: %w", err)
			}
			fromDisk = true
		}
		if len(msgs) > 0 {
			if msgs[0].Seq != next {
				return nil, fmt.Errorf("subscribe: %s: want seq %d, read %d: gap in state db", s.room, next, msgs[0].Seq)
			}
			s.next.Store(msgs[len(msgs)-1].Seq + 1)
			s.n.obs.Delivered(len(msgs), fromDisk)
			return msgs, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, ErrClosed
		case <-s.n.stop:
			return nil, ErrClosed
		}
	}
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.n.hub.detach(s.room)
		s.n.subs.remove(s)
	})
}
