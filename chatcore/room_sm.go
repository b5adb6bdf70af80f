package chatcore

import (
	"sync/atomic"

	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/parleychat/parley"
)

// roomShard applies a room shard's entries and hands new messages to the
// node's hub once they are in the state db.
type roomShard struct {
	roomApplier
	hub *hub
	// fenced, if not nil, is told of each fence applied (see fenceSet).
	fenced func(shard uint64, fc fenceCmd)
	// applied, if not nil, counts the entries applied (see shardLoad).
	applied *atomic.Uint64
	// cache is what the last committed batch read and wrote of the values
	// every batch reads (see applyCache).
	cache applyCache
}

// newBatch returns a plain batch: a roomTx keeps what later entries of the
// batch read of earlier ones' writes.
func (r *roomShard) newBatch(db *pebble.DB) *pebble.Batch { return db.NewBatch() }

func (r *roomShard) applyEntries(db reader, b *pebble.Batch, entries []sm.Entry) (func(), error) {
	if r.applied != nil {
		r.applied.Add(uint64(len(entries)))
	}
	tx := newRoomTx(db, b, r.shard, r.cache.begin(entries[0].Index))
	last := entries[len(entries)-1].Index
	var (
		fresh []*parley.Message
		fc    *fenceCmd
	)
	for i := range entries {
		res, err := r.applyEntry(tx, entries[i].Cmd)
		if err != nil {
			return nil, err
		}
		if entries[i].Result.Value, entries[i].Result.Data, err = encodeResult(res); err != nil {
			return nil, err
		}
		if res.msg != nil {
			fresh = append(fresh, res.msg)
		}
		if res.fence != nil {
			fc = res.fence
		}
		fresh = append(fresh, res.imported...)
		for _, it := range res.items {
			if it.msg != nil {
				fresh = append(fresh, it.msg)
			}
		}
	}
	if err := tx.flush(); err != nil {
		return nil, err
	}
	return func() {
		r.cache.committed(tx, last)
		tx.dedup.commitTo(r.ids)
		if len(fresh) > 0 {
			r.hub.publish(fresh)
		}
		if fc != nil && r.fenced != nil {
			r.fenced(r.shard, *fc)
		}
	}, nil
}

// opened builds the dedup index from the shard's records in db.
func (r *roomShard) opened(db reader) error {
	return r.ids.rebuild(db, r.shard)
}

func (r *roomShard) recovered(db reader) error {
	r.hub.reload(r.shard)
	return r.opened(db)
}
