package chatcore

import (
	"sync"
	"sync/atomic"
	"time"
)

// Busy and idle room shards. Leader balancing spreads the leaders of the
// shards that carry the load apart from the others
// (placement.BalanceLeadersByLoad): balancing only the count of leaders
// can leave one node leading every busy shard, and so doing most of the
// cluster's leader work. A node tells them apart by the entries each shard
// applied since it last looked, the same on every replica, and reports
// it with the shards it leads at each heartbeat (ShardReport.Busy).
//
// A burst does not make a shard busy, nor a pause idle: each takes a run of
// looks (one a heartbeat) on the other side of its mark, so that leaders
// move for load that lasts, each move costing a fence's hold.
const (
	// busyEntriesPerSec, for busyLooks looks in a row, makes an idle
	// shard busy.
	busyEntriesPerSec = 10
	busyLooks         = 3
	// idleEntriesPerSec, for idleLooks looks in a row, makes a busy shard
	// idle again: below the first, so that a shard near it does not flap.
	idleEntriesPerSec = 2
	idleLooks         = 10
	// staleLook is how old a last look may be for its conclusion to carry
	// over to the next one.
	staleLook = 10 * heartbeatInterval
)

// shardLoad counts the entries each room shard applied here, and keeps
// what it last concluded about each.
type shardLoad struct {
	mu      sync.Mutex
	applied map[uint64]*atomic.Uint64
	looks   map[uint64]loadLook
}

// loadLook is what shardLoad saw of a shard at its last look.
type loadLook struct {
	at      time.Time
	applied uint64
	busy    bool
	// streak counts the looks in a row past the mark that would change
	// busy.
	streak int
}

func newShardLoad() *shardLoad {
	return &shardLoad{applied: make(map[uint64]*atomic.Uint64), looks: make(map[uint64]loadLook)}
}

// counter returns the count of entries shard applied, for its state
// machine to add to.
func (l *shardLoad) counter(shard uint64) *atomic.Uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.applied[shard]
	if c == nil {
		c = new(atomic.Uint64)
		l.applied[shard] = c
	}
	return c
}

// busy reports whether shard is busy at now, from the entries it applied
// since the last look and the looks before. The first look at a shard
// finds it idle.
func (l *shardLoad) busy(shard uint64, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	var applied uint64
	if c := l.applied[shard]; c != nil {
		applied = c.Load()
	}
	last, seen := l.looks[shard]
	look := loadLook{at: now, applied: applied, busy: last.busy, streak: last.streak}
	if secs := now.Sub(last.at).Seconds(); seen && secs > 0 {
		rate := float64(applied-last.applied) / secs
		if secs > staleLook.Seconds() {
			look.busy, look.streak = false, 0 // too long ago to go on from
		}
		past, needed := rate >= busyEntriesPerSec, busyLooks
		if look.busy {
			past, needed = rate <= idleEntriesPerSec, idleLooks
		}
		switch {
		case !past:
			look.streak = 0
		case look.streak+1 >= needed:
			look.busy, look.streak = !look.busy, 0
		default:
			look.streak++
		}
	}
	l.looks[shard] = look
	return look.busy
}
