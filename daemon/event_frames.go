package daemon

import (
	"sync"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// eventRing is how many encoded events a room keeps for its subscribers:
// more than one pull (subscriptionBatch), so subscribers near the head
// share every frame, while one far behind encodes its own.
const eventRing = 4 * subscriptionBatch

// frameCache holds, per room with a subscriber on this node, the event
// frames of its latest messages, so that a message goes to a hundred
// subscribers encoded once instead of a hundred times. A message's frame
// never changes: its room and seq name it for good once committed. The
// zero value is ready to use.
type frameCache struct {
	mu    sync.Mutex
	rooms map[string]*roomFrames
}

// roomFrames is one room's ring of encoded events, with its own lock: the
// subscribers of one room never wait for those of another.
type roomFrames struct {
	users int // subscriptions holding it, under frameCache.mu

	mu   sync.Mutex
	ring [eventRing]cachedFrame // frame of seq s at s % eventRing
}

type cachedFrame struct {
	seq   uint64
	frame []byte
}

// acquire returns room's frames for a new subscription, which calls
// release when it ends.
func (c *frameCache) acquire(room string) *roomFrames {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.rooms == nil {
		c.rooms = make(map[string]*roomFrames)
	}
	r := c.rooms[room]
	if r == nil {
		r = &roomFrames{}
		c.rooms[room] = r
	}
	r.users++
	return r
}

// release ends a subscription's use of room's frames; the last one drops
// them.
func (c *frameCache) release(room string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r := c.rooms[room]; r != nil {
		if r.users--; r.users == 0 {
			delete(c.rooms, room)
		}
	}
}

// appendFrame appends the event frame of m (a message of the ring's room)
// to dst, encoding it only if no subscriber did already. r may be nil:
// then it encodes.
func (r *roomFrames) appendFrame(dst []byte, m *parley.Message) ([]byte, error) {
	if r != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	return r.appendLocked(dst, m)
}

// appendFrames appends the event frames of msgs (messages of the ring's
// room), each encoded only if no subscriber did already, until dst holds
// at least limit bytes, and returns how many it appended: a whole batch
// takes the ring's lock once. r may be nil: then it encodes each.
func (r *roomFrames) appendFrames(dst []byte, msgs []parley.Message, limit int) ([]byte, int, error) {
	if r != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
	}
	for i := range msgs {
		var err error
		if dst, err = r.appendLocked(dst, &msgs[i]); err != nil {
			return dst, i, err
		}
		if len(dst) >= limit {
			return dst, i + 1, nil
		}
	}
	return dst, len(msgs), nil
}

// appendLocked appends m's frame; r.mu is held (or r is nil).
func (r *roomFrames) appendLocked(dst []byte, m *parley.Message) ([]byte, error) {
	if r == nil || m.Seq == 0 {
		return transport.AppendFrame(dst, transport.Event{Msg: m}, transport.DefaultMaxFrame)
	}
	slot := &r.ring[m.Seq%eventRing]
	if slot.seq != m.Seq || slot.frame == nil {
		f, err := transport.AppendFrame(nil, transport.Event{Msg: m}, transport.DefaultMaxFrame)
		if err != nil {
			return dst, err
		}
		slot.seq, slot.frame = m.Seq, f
	}
	return append(dst, slot.frame...), nil
}
