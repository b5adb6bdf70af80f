package chatcore

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble"
)

// stateFormat numbers the layout of the state db's records (keys.go). A
// node opening a db of an older format migrates it before any shard
// reads it; a db of another format is refused. Formats:
//
//	1  no format record. A message's dedup record was two records: 'd'
//	   room user id -> CBOR {seq, ts}, and an empty 'x' ts room user id
//	   for expiry.
//	2  the format record (shard 0, 'V'). One dedup record, 'x' ts room
//	   user id -> seq (8 bytes), found by id through the shard's
//	   in-memory dedupIndex.
const stateFormat = 2

// kindDedupV1 is format 1's dedup record by id.
const kindDedupV1 = 'd'

// dedupRecordV1 is the value of a format 1 dedup record.
type dedupRecordV1 struct {
	Seq uint64 `cbor:"1,keyasint"`
	TS  int64  `cbor:"2,keyasint"`
}

func formatKey() []byte { return append(shardPrefix(0), kindFormat) }

// checkFormat makes db's format this build's: it records it in a new db,
// migrates an older one, and refuses any other. It returns the format db
// had, 0 for a new db.
func checkFormat(db *pebble.DB) (int, error) {
	v, err := getUint64(db, formatKey())
	if err != nil {
		return 0, err
	}
	switch {
	case v == stateFormat:
		return stateFormat, nil
	case v > stateFormat:
		return int(v), fmt.Errorf("state db: format %d is newer than this build's (%d): run the parleyd that wrote this data dir, or a newer one", v, stateFormat)
	case v != 0:
		return int(v), fmt.Errorf("state db: unknown format %d (this build reads %d)", v, stateFormat)
	}
	it := db.NewIter(nil)
	empty := !it.First()
	if err := it.Close(); err != nil {
		return 0, fmt.Errorf("state db: %w", err)
	}
	if empty {
		return 0, setFormat(db.NewBatch())
	}
	if err := migrateFormat1(db); err != nil {
		return 1, fmt.Errorf("state db: migrating format 1 to %d: %w", stateFormat, err)
	}
	return 1, nil
}

// setFormat records this build's format in b and commits it durably.
func setFormat(b *pebble.Batch) error {
	defer b.Close()
	if err := putUint64(b, formatKey(), stateFormat); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("state db: %w", err)
	}
	return nil
}

// migrateFormat1 turns every shard's format 1 dedup records into format
// 2's: each expiry record takes the seq of its record by id, and the
// records by id go. It can stop anywhere and run again: the records by id
// and the missing format record go together, in the last batch.
func migrateFormat1(db *pebble.DB) error {
	shards, err := shardsIn(db)
	if err != nil {
		return err
	}
	b := db.NewBatch()
	if err := migrateDedup1(db, &b, shards); err != nil {
		b.Close()
		return err
	}
	return setFormat(b)
}

// migrateDedup1 writes into *b, committing and replacing it as it grows,
// the format 2 dedup records of shards, and deletes their records by id.
func migrateDedup1(db *pebble.DB, b **pebble.Batch, shards []uint64) error {
	for _, shard := range shards {
		lo := expiryPrefix(shard)
		it := db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo)})
		for ok := it.First(); ok; ok = it.Next() {
			if len(it.Key()) < len(lo)+8 {
				it.Close()
				return fmt.Errorf("short expiry key %x", it.Key())
			}
			suffix := it.Key()[len(lo)+8:]
			var rec dedupRecordV1
			found, err := getCBOR(db, append(append(shardPrefix(shard), kindDedupV1), suffix...), &rec)
			if err != nil {
				it.Close()
				return err
			}
			if !found {
				// Format 1 wrote and deleted both together; an expiry record
				// alone named nothing a send could find.
				err = (*b).Delete(it.Key(), nil)
			} else {
				err = (*b).Set(it.Key(), binary.BigEndian.AppendUint64(nil, rec.Seq), nil)
			}
			if err != nil {
				it.Close()
				return err
			}
			if (*b).Len() > 4<<20 {
				if err := (*b).Commit(pebble.NoSync); err != nil {
					it.Close()
					return err
				}
				(*b).Close()
				*b = db.NewBatch()
			}
		}
		if err := it.Close(); err != nil {
			return err
		}
		byID := append(shardPrefix(shard), kindDedupV1)
		if err := (*b).DeleteRange(byID, prefixEnd(byID), nil); err != nil {
			return err
		}
	}
	return nil
}

// shardsIn returns the shards that have keys in db, in order.
func shardsIn(db *pebble.DB) ([]uint64, error) {
	it := db.NewIter(&pebble.IterOptions{LowerBound: shardPrefix(1)})
	var shards []uint64
	for ok := it.First(); ok; {
		if len(it.Key()) < 8 {
			it.Close()
			return nil, errors.New("key without a shard prefix")
		}
		shard := binary.BigEndian.Uint64(it.Key())
		shards = append(shards, shard)
		if shard == ^uint64(0) {
			break
		}
		ok = it.SeekGE(shardPrefix(shard + 1))
	}
	if err := it.Close(); err != nil {
		return nil, err
	}
	return shards, nil
}
