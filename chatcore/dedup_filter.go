package chatcore

import (
	"fmt"
	"hash/maphash"

	"github.com/cockroachdb/pebble"
)

// dedupFilter is a room shard's in-memory summary of its dedup records:
// a count per hash of every record in the state db. A send whose id hash is
// not in it was never committed within the window, so its dedup lookup can
// skip pebble, which nearly every send would otherwise ask in vain.
//
// The filter only ever answers "absent" for a record that is absent: it
// counts each record it was told of and forgets it only once the record's
// deletion is durable, so hash collisions and uncommitted batches cost a
// pebble lookup, never a wrong answer. The decision itself is still made
// from the db, so replicas agree whatever their filters hold.
//
// It is used by the shard's apply goroutine only (dragonboat never runs
// Open, Update and RecoverFromSnapshot of one replica concurrently).
type dedupFilter struct {
	seed   maphash.Seed
	counts map[uint64]uint32
}

func newDedupFilter() *dedupFilter {
	return &dedupFilter{seed: maphash.MakeSeed(), counts: make(map[uint64]uint32)}
}

// hash returns the filter's hash of a dedup suffix.
func (f *dedupFilter) hash(suffix []byte) uint64 { return maphash.Bytes(f.seed, suffix) }

// mayHold reports whether a record with hash h may be in the db.
func (f *dedupFilter) mayHold(h uint64) bool { return f.counts[h] > 0 }

// add counts a record with hash h.
func (f *dedupFilter) add(h uint64) { f.counts[h]++ }

// remove forgets one record with hash h.
func (f *dedupFilter) remove(h uint64) {
	switch n := f.counts[h]; n {
	case 0:
	case 1:
		delete(f.counts, h)
	default:
		f.counts[h] = n - 1
	}
}

// rebuild replaces the filter's content with the dedup records of shard
// in db: at open, and after a snapshot replaced the shard's state.
func (f *dedupFilter) rebuild(db reader, shard uint64) error {
	lo := dedupKey(shard, nil)
	it := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
	counts := make(map[uint64]uint32)
	for ok := it.First(); ok; ok = it.Next() {
		counts[f.hash(it.Key()[len(lo):])]++
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("dedup filter: %w", err)
	}
	f.counts = counts
	return nil
}

// dedupChanges are the dedup records an apply batch adds and deletes: the
// batch's own lookups consult added (the small map of ids seen in the same
// batch), and the filter takes both once the batch is durable.
type dedupChanges struct {
	added   map[uint64]struct{}
	addList []uint64
	removed []uint64
}

func (c *dedupChanges) add(h uint64) {
	if c.added == nil {
		c.added = make(map[uint64]struct{})
	}
	c.added[h] = struct{}{}
	c.addList = append(c.addList, h)
}

func (c *dedupChanges) has(h uint64) bool {
	_, ok := c.added[h]
	return ok
}

// commitTo applies the changes to f, after the batch committed.
func (c *dedupChanges) commitTo(f *dedupFilter) {
	for _, h := range c.addList {
		f.add(h)
	}
	for _, h := range c.removed {
		f.remove(h)
	}
}

// noteDedup tells the shard's filter, once tx is committed, of the dedup
// record with suffix that tx wrote. Every writer of a dedup record calls
// it: a record the filter does not know of would be missed.
func (a roomApplier) noteDedup(tx *roomTx, suffix []byte) {
	if a.ids != nil {
		tx.dedup.add(a.ids.hash(suffix))
	}
}
