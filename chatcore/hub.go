package chatcore

import (
	"slices"
	"sync"

	"github.com/parleychat/parley"
)

// recentPerRoom is how many recent messages the hub keeps in memory for a
// room that has subscribers, so followers near the head never touch disk.
const recentPerRoom = 512

// hub tells a node's local subscribers about applied messages. It never
// blocks the apply loop: publish only records the new head and wakes
// waiters. Subscribers pull (see Subscription.Next): from the in-memory tail
// when they are near the head, from the state db when they are behind, so a
// slow subscriber costs no memory and cannot be overrun.
//
// mu guards the set of feeds (and their subscriber counts); each feed has
// its own lock, so publishing into one room never waits for readers of
// another, and publish wakes each room once per apply batch.
type hub struct {
	db *stateDB

	mu    sync.RWMutex
	feeds map[string]*feed
}

// feed is the hub's view of one room with at least one subscriber.
type feed struct {
	shard uint64
	subs  int // under hub.mu

	mu sync.Mutex
	// last is a seq such that every seq <= last is readable in the db.
	last   uint64
	recent []parley.Message // ring of the latest messages, recent[seq%len]
	wake   chan struct{}
}

func newHub(db *stateDB) *hub {
	return &hub{db: db, feeds: make(map[string]*feed)}
}

// publish is called by the apply loop after the messages are in the db.
// Each room's waiters are woken once, after all its messages are recorded.
func (h *hub) publish(msgs []*parley.Message) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	var touched []*feed
	for _, m := range msgs {
		f := h.feeds[m.Room]
		if f == nil {
			continue
		}
		f.mu.Lock()
		f.recent[m.Seq%recentPerRoom] = *m
		if m.Seq > f.last {
			f.last = m.Seq
		}
		f.mu.Unlock()
		if !slices.Contains(touched, f) {
			touched = append(touched, f)
		}
	}
	for _, f := range touched {
		f.mu.Lock()
		f.signal()
		f.mu.Unlock()
	}
}

// signal wakes the feed's waiters; the caller holds f.mu.
func (f *feed) signal() {
	close(f.wake)
	f.wake = make(chan struct{})
}

// reload re-reads the head of every subscribed room of shard after its state
// was replaced by a snapshot, and drops the in-memory tail.
func (h *hub) reload(shard uint64) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for room, f := range h.feeds {
		if f.shard != shard {
			continue
		}
		var meta roomMeta
		_, err := getCBOR(h.db.db, metaKey(shard, room), &meta)
		f.mu.Lock()
		f.recent = make([]parley.Message, recentPerRoom)
		if err == nil && meta.LastSeq > f.last {
			f.last = meta.LastSeq
		}
		f.signal()
		f.mu.Unlock()
	}
}

// attach registers a subscriber of room and returns the room's head.
func (h *hub) attach(shard uint64, room string) (uint64, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.feeds[room]
	if f == nil {
		// Reading the head under the lock orders it with publish: a
		// message applied before this read is in meta, one applied after
		// is published to the new feed.
		var meta roomMeta
		if _, err := getCBOR(h.db.db, metaKey(shard, room), &meta); err != nil {
			return 0, err
		}
		f = &feed{shard: shard, last: meta.LastSeq, recent: make([]parley.Message, recentPerRoom), wake: make(chan struct{})}
		h.feeds[room] = f
	}
	f.subs++
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last, nil
}

func (h *hub) detach(room string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if f := h.feeds[room]; f != nil {
		if f.subs--; f.subs == 0 {
			delete(h.feeds, room)
		}
	}
}

// poll returns the room's head, up to max messages from seq next that are in
// memory (possibly none), and a channel closed when the head moves. A room
// without subscribers (all detached) gives a nil wake channel.
func (h *hub) poll(room string, next uint64, max int) (last uint64, msgs []parley.Message, wake <-chan struct{}) {
	h.mu.RLock()
	f := h.feeds[room]
	h.mu.RUnlock()
	if f == nil {
		return 0, nil, nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	// Count first, so that a batch costs one allocation however long.
	n := 0
	for seq := next; seq <= f.last && n < max && f.recent[seq%recentPerRoom].Seq == seq; seq++ {
		n++
	}
	if n > 0 {
		msgs = make([]parley.Message, n)
		for i := range msgs {
			msgs[i] = f.recent[(next+uint64(i))%recentPerRoom]
		}
	}
	return f.last, msgs, f.wake
}

// head returns the last seq the hub knows of room, 0 if it has no
// subscriber.
func (h *hub) head(room string) uint64 {
	h.mu.RLock()
	f := h.feeds[room]
	h.mu.RUnlock()
	if f == nil {
		return 0
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.last
}
