package chatcore

// applyCache is what a room shard's last committed apply batch left of the
// values nearly every batch reads again: the shard clock, the prune debt,
// and the headers of the rooms it wrote. At a low rate an apply batch is
// one entry of one send, and these reads were three pebble lookups and a
// CBOR decode per message.
//
// It is a read cache of the state db, filled only after a batch commits,
// and tagged with the index of the batch's last entry. A batch uses it only
// if its first entry comes right after that index: the state at an index
// is the same on every replica and at every time, so a snapshot recovered
// in between, a batch that failed to commit, or a restart (which starts
// with an empty cache) can never show a stale value.
type applyCache struct {
	index       uint64 // the last entry of the batch it holds; 0: empty
	clock, debt counter
	metas       map[string]roomMeta
}

// maxCachedMetas bounds the room headers an applyCache holds; past it, the
// cache starts over, as a shard with that many busy rooms gains little.
const maxCachedMetas = 4096

// begin returns the cache for a batch whose first entry is first: itself
// if it holds the state just before first, nil if not.
func (c *applyCache) begin(first uint64) *applyCache {
	if c == nil || c.index == 0 || c.index+1 != first {
		return nil
	}
	return c
}

// committed records what tx, the batch up to entry last, read and wrote,
// once the batch is in the state db.
func (c *applyCache) committed(tx *roomTx, last uint64) {
	if tx.cache != c { // the batch started from the db: so does the cache
		c.clock, c.debt = counter{}, counter{}
		clear(c.metas)
	}
	if tx.clock.read {
		c.clock = counter{v: tx.clock.v, read: true}
	}
	if tx.debt.read {
		c.debt = counter{v: tx.debt.v, read: true}
	}
	if c.metas == nil {
		c.metas = make(map[string]roomMeta)
	}
	if len(c.metas)+len(tx.metas) > maxCachedMetas {
		clear(c.metas)
	}
	for room, m := range tx.metas {
		c.metas[room] = m
	}
	c.index = last
}
