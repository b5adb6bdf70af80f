package chatcore

import (
	"github.com/cockroachdb/pebble"
)

// roomTx is one apply batch of a room shard: a plain (write-only) pebble
// batch over the state db, what the batch wrote that later entries of the
// same batch read (see room_tx_overlay.go), and the room headers and the
// shard clock read so far, kept decoded in memory and written back once by
// flush. Every message of a busy room reads and rewrites its room's header,
// so a batch of n messages costs one header read and one write instead of
// n of each.
//
// Every read of the apply path goes through tx (get, getCBOR, message,
// expired), never through the batch, which cannot be read: a read sees the
// db as this batch has changed it so far, exactly as an indexed batch
// would, so replicas decide alike however entries are grouped.
type roomTx struct {
	db    reader        // the state db, as of the last committed batch
	b     *pebble.Batch // writes only
	shard uint64
	over  overlay // keys written or deleted in this batch that later reads need

	metas map[string]roomMeta // headers changed in this batch, to write back
	clock counter             // the highest entry time applied, Unix nanoseconds
	debt  counter             // sends applied since dedup records were last pruned
	dedup dedupChanges        // dedup records added and deleted, for the index
	// cache, if not nil, holds the db's clock, debt and recent headers as
	// of this batch's start (see applyCache).
	cache *applyCache
}

// counter is a cached uint64 of the state db.
type counter struct {
	v           uint64
	read, dirty bool
}

func (c *counter) get(r reader, key []byte) (uint64, error) {
	if !c.read {
		v, err := getUint64(r, key)
		if err != nil {
			return 0, err
		}
		c.v, c.read = v, true
	}
	return c.v, nil
}

func (c *counter) set(v uint64) {
	if v != c.v {
		c.v, c.dirty = v, true
	}
}

func (c *counter) flush(b *pebble.Batch, key []byte) error {
	if !c.dirty {
		return nil
	}
	c.dirty = false
	return putUint64(b, key, c.v)
}

// newRoomTx starts an apply batch that reads db and writes b, a plain
// batch of db, and reads its clock, debt and headers from cache first if
// cache is not nil.
func newRoomTx(db reader, b *pebble.Batch, shard uint64, cache *applyCache) *roomTx {
	tx := &roomTx{db: db, b: b, shard: shard, cache: cache}
	if cache != nil {
		tx.clock, tx.debt = cache.clock, cache.debt
	}
	return tx
}

// meta returns room's header; a room seen for the first time is created at
// ts. The caller may change it and then calls putMeta.
func (tx *roomTx) meta(room string, ts int64) (roomMeta, error) {
	if m, ok := tx.metas[room]; ok {
		return m, nil
	}
	if tx.cache != nil {
		if m, ok := tx.cache.metas[room]; ok {
			return m, nil
		}
	}
	var meta roomMeta
	// Headers are written only by flush, so the db has every header this
	// batch has not changed.
	if _, err := getCBOR(tx.db, metaKey(tx.shard, room), &meta); err != nil {
		return meta, err
	}
	if meta.Created == 0 {
		meta.Created = ts
	}
	return meta, nil
}

// putMeta records room's new header, to be written by flush.
func (tx *roomTx) putMeta(room string, meta roomMeta) {
	if tx.metas == nil {
		tx.metas = make(map[string]roomMeta)
	}
	tx.metas[room] = meta
}

// now returns the shard clock: the highest entry time applied.
func (tx *roomTx) now() (uint64, error) {
	return tx.clock.get(tx.db, clockKey(tx.shard))
}

// advanceClock moves the shard clock to ts if ts is later. Dedup expiry is
// measured against it, never against the wall clock.
func (tx *roomTx) advanceClock(ts int64) error {
	now, err := tx.now()
	if err != nil {
		return err
	}
	if ts > 0 && uint64(ts) > now {
		tx.clock.set(uint64(ts))
	}
	return nil
}

// addDebt counts n more dedup records to prune and returns the total.
func (tx *roomTx) addDebt(n uint64) (uint64, error) {
	d, err := tx.debt.get(tx.db, debtKey(tx.shard))
	if err != nil {
		return 0, err
	}
	tx.debt.set(d + n)
	return d + n, nil
}

// flush writes the changed headers, clock and debt into the batch. It is
// the batch's last step.
func (tx *roomTx) flush() error {
	for room, m := range tx.metas {
		if err := putCBOR(tx.b, metaKey(tx.shard, room), m); err != nil {
			return err
		}
	}
	if err := tx.clock.flush(tx.b, clockKey(tx.shard)); err != nil {
		return err
	}
	return tx.debt.flush(tx.b, debtKey(tx.shard))
}
