package chatcore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/cockroachdb/pebble"
)

// dedupIndex is a room shard's in-memory index of its dedup records: the
// entry time of every record, by a hash of its room, user and message id.
// A dedup record is keyed by entry time first (see keys.go), so that
// expiry walks them in time order; the index is how a send finds the key
// of its own id's record, if there is one, without a second record keyed
// by id. Nearly every send's hash is absent, and its lookup never reaches
// pebble.
//
// The index holds every record in the state db and forgets a record only
// once its deletion is durable, so it may name a record that is gone, or
// one of another id with the same hash, but never misses one: the decision
// is made from the record read back from the db (through the apply batch),
// so replicas agree whatever their indexes hold.
//
// It is used by the shard's apply goroutine only (dragonboat never runs
// Open, Update and RecoverFromSnapshot of one replica concurrently).
type dedupIndex struct {
	seed maphash.Seed
	ts   tsByHash
}

func newDedupIndex() *dedupIndex {
	return &dedupIndex{seed: maphash.MakeSeed()}
}

// hash returns the index's hash of a dedup suffix.
func (x *dedupIndex) hash(suffix []byte) uint64 { return maphash.Bytes(x.seed, suffix) }

// rebuild replaces the index's content with the dedup records of shard in
// db: at open, and after a snapshot replaced the shard's state.
func (x *dedupIndex) rebuild(db reader, shard uint64) error {
	lo := expiryPrefix(shard)
	it := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	var ts tsByHash
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()[len(lo):]
		if len(k) < 8 {
			it.Close()
			return fmt.Errorf("dedup index: short key %x", it.Key())
		}
		ts.add(x.hash(k[8:]), int64(binary.BigEndian.Uint64(k)))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("dedup index: %w", err)
	}
	x.ts = ts
	return nil
}

// tsByHash is a multimap from a hash to entry times. Nearly every hash has
// one time; the few that collide keep the rest in more.
type tsByHash struct {
	one  map[uint64]int64
	more map[uint64][]int64
}

func (m *tsByHash) add(h uint64, ts int64) {
	if m.one == nil {
		m.one = make(map[uint64]int64)
	}
	if _, ok := m.one[h]; !ok {
		m.one[h] = ts
		return
	}
	if m.more == nil {
		m.more = make(map[uint64][]int64)
	}
	m.more[h] = append(m.more[h], ts)
}

// remove forgets one time ts of hash h, if it has one.
func (m *tsByHash) remove(h uint64, ts int64) {
	first, ok := m.one[h]
	if !ok {
		return
	}
	more := m.more[h]
	if first != ts {
		for i, t := range more {
			if t == ts {
				more = append(more[:i], more[i+1:]...)
				break
			}
		}
	} else if len(more) > 0 {
		m.one[h], more = more[len(more)-1], more[:len(more)-1]
	} else {
		delete(m.one, h)
	}
	if len(more) == 0 {
		delete(m.more, h)
	} else {
		m.more[h] = more
	}
}

// each calls fn with every time of hash h until fn returns false, and
// reports whether it did.
func (m *tsByHash) each(h uint64, fn func(ts int64) bool) bool {
	first, ok := m.one[h]
	if !ok {
		return true
	}
	if !fn(first) {
		return false
	}
	for _, t := range m.more[h] {
		if !fn(t) {
			return false
		}
	}
	return true
}

// len returns how many times m holds.
func (m *tsByHash) len() int {
	n := len(m.one)
	for _, more := range m.more {
		n += len(more)
	}
	return n
}

// dedupChanges are the dedup records an apply batch adds and deletes: the
// batch's own lookups and prunes consult what it added (the batch is a
// plain one, which cannot be read), and the index takes both once the
// batch is durable.
type dedupChanges struct {
	added   tsByHash // hash -> position in addList
	addList []addedDedup
	removed []hashTS
}

// addedDedup is a dedup record the batch wrote.
type addedDedup struct {
	h   uint64
	ts  int64
	key []byte // expiryKey(shard, ts, suffix)
	seq uint64
}

// hashTS names a dedup record in a dedupIndex.
type hashTS struct {
	h  uint64
	ts int64
}

func (c *dedupChanges) add(r addedDedup) {
	c.added.add(r.h, int64(len(c.addList)))
	c.addList = append(c.addList, r)
}

// commitTo applies the changes to x, after the batch committed.
func (c *dedupChanges) commitTo(x *dedupIndex) {
	for _, r := range c.addList {
		x.ts.add(r.h, r.ts)
	}
	for _, r := range c.removed {
		x.ts.remove(r.h, r.ts)
	}
}

// findDedup returns the dedup record of suffix as tx sees the db: the seq
// and entry time of the message it remembers.
func (a roomApplier) findDedup(tx *roomTx, h uint64, suffix []byte) (seq uint64, ts int64, found bool, err error) {
	look := func(t int64) bool {
		seq, found, err = tx.getUint64(expiryKey(a.shard, t, suffix))
		if found || err != nil {
			ts = t
			return false
		}
		return true
	}
	if !a.ids.ts.each(h, look) {
		return seq, ts, found, err
	}
	tx.dedup.added.each(h, func(i int64) bool {
		r := &tx.dedup.addList[i]
		if len(r.key) != expiryKeyLen(suffix) || !bytes.Equal(r.key[len(r.key)-len(suffix):], suffix) {
			return true
		}
		if !tx.over.touched(r.key) {
			seq, ts, found = r.seq, r.ts, true
			return false
		}
		// Pruned in this batch, and perhaps written again: the overlay
		// has its latest value.
		seq, found, err = tx.getUint64(r.key)
		if found || err != nil {
			ts = r.ts
			return false
		}
		return true
	})
	return seq, ts, found, err
}

// putDedup writes the dedup record of suffix: the message at seq, sent at
// ts, and tells the shard's index of it once tx is committed. It is the
// only writer of dedup records: a record the index does not know of would
// be missed.
func (a roomApplier) putDedup(tx *roomTx, h uint64, suffix []byte, ts int64, seq uint64) error {
	key := expiryKey(a.shard, ts, suffix)
	val := binary.BigEndian.AppendUint64(nil, seq)
	if tx.over.touched(key) {
		// Pruned earlier in this batch: the overlay must say it is back.
		if err := tx.set(key, val); err != nil {
			return fmt.Errorf("room apply: %w", err)
		}
	} else if err := tx.b.Set(key, val, nil); err != nil {
		return fmt.Errorf("room apply: %w", err)
	}
	tx.dedup.add(addedDedup{h: h, ts: ts, key: key, seq: seq})
	return nil
}
