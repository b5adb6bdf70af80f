package chatcore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
)

// overlay is what a room apply batch has written or deleted so far, for
// the reads of later entries of the same batch: the pebble batch itself is
// a plain one, cheaper to fill than an indexed one, and cannot be read.
// Room headers, the clock and the prune debt are cached by roomTx itself.
type overlay struct {
	keys map[string]overlayValue // member records, and dedup records deleted
	msgs []writtenMsg            // messages, in the order written
}

// overlayValue is a key's value as the batch left it.
type overlayValue struct {
	val  []byte
	gone bool // deleted in this batch
}

// writtenMsg is a message the batch wrote.
type writtenMsg struct {
	room string
	seq  uint64
	msg  storedMsg
}

func (o *overlay) put(key []byte, v overlayValue) {
	if o.keys == nil {
		o.keys = make(map[string]overlayValue)
	}
	o.keys[string(key)] = v
}

// touched reports whether the overlay has key: a member record the batch
// wrote, or any key it deleted (and perhaps wrote again).
func (o *overlay) touched(key []byte) bool {
	_, ok := o.keys[string(key)]
	return ok
}

// getCBOR decodes key's value, as this batch left it, into v; found is
// false if it is absent.
func (tx *roomTx) getCBOR(key []byte, v any) (found bool, err error) {
	if o, ok := tx.over.keys[string(key)]; ok {
		if o.gone {
			return false, nil
		}
		if err := cbor.Unmarshal(o.val, v); err != nil {
			return false, fmt.Errorf("state db: %x: %w", key, err)
		}
		return true, nil
	}
	return getCBOR(tx.db, key, v)
}

// getUint64 reads the 8-byte value at key as this batch left it.
func (tx *roomTx) getUint64(key []byte) (v uint64, found bool, err error) {
	o, ok := tx.over.keys[string(key)]
	if !ok {
		b, closer, err := tx.db.Get(key)
		if errors.Is(err, pebble.ErrNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("state db: %w", err)
		}
		defer closer.Close()
		o.val = b
	} else if o.gone {
		return 0, false, nil
	}
	if len(o.val) != 8 {
		return 0, false, fmt.Errorf("state db: %x: want 8 bytes, have %d", key, len(o.val))
	}
	return binary.BigEndian.Uint64(o.val), true, nil
}

// has reports whether key is present as this batch left it.
func (tx *roomTx) has(key []byte) (bool, error) {
	if o, ok := tx.over.keys[string(key)]; ok {
		return !o.gone, nil
	}
	_, closer, err := tx.db.Get(key)
	if err == nil {
		closer.Close()
		return true, nil
	}
	if errors.Is(err, pebble.ErrNotFound) {
		return false, nil
	}
	return false, fmt.Errorf("state db: %w", err)
}

// set writes key in the batch, visible to the batch's later reads.
func (tx *roomTx) set(key, val []byte) error {
	if err := tx.b.Set(key, val, nil); err != nil {
		return fmt.Errorf("state db: %w", err)
	}
	tx.over.put(key, overlayValue{val: val})
	return nil
}

// setCBOR writes v encoded at key, as set does.
func (tx *roomTx) setCBOR(key []byte, v any) error {
	data, err := cbor.Marshal(v)
	if err != nil {
		return fmt.Errorf("state db: encode: %w", err)
	}
	return tx.set(key, data)
}

// del deletes key in the batch, visible to the batch's later reads.
func (tx *roomTx) del(key []byte) error {
	if err := tx.b.Delete(key, nil); err != nil {
		return fmt.Errorf("state db: %w", err)
	}
	tx.over.put(key, overlayValue{gone: true})
	return nil
}

// putMessage writes message seq of room.
func (tx *roomTx) putMessage(room string, seq uint64, m storedMsg) error {
	if err := tx.b.Set(msgKey(tx.shard, room, seq), encodeStoredMsg(&m), nil); err != nil {
		return fmt.Errorf("state db: %w", err)
	}
	tx.over.msgs = append(tx.over.msgs, writtenMsg{room: room, seq: seq, msg: m})
	return nil
}

// message reads message seq of room as this batch left it. Messages are
// never rewritten, so the newest write of the batch is the one.
func (tx *roomTx) message(room string, seq uint64, m *storedMsg) (bool, error) {
	for i := len(tx.over.msgs) - 1; i >= 0; i-- {
		if w := &tx.over.msgs[i]; w.seq == seq && w.room == room {
			*m = w.msg
			return true, nil
		}
	}
	return getCBOR(tx.db, msgKey(tx.shard, room, seq), m)
}

// firstKeys returns, in order, up to limit keys in [lo, hi) as this batch
// left the db: the db's keys the batch did not touch, the keys the overlay
// holds and the batch did not delete, and the dedup records the batch wrote
// that the overlay does not hold.
func (tx *roomTx) firstKeys(lo, hi []byte, limit int) ([][]byte, error) {
	var keys [][]byte
	it := tx.db.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	for ok := it.First(); ok && len(keys) < limit; ok = it.Next() {
		if _, touched := tx.over.keys[string(it.Key())]; !touched {
			keys = append(keys, slices.Clone(it.Key()))
		}
	}
	if err := it.Close(); err != nil {
		return nil, fmt.Errorf("state db: %w", err)
	}
	mine := false
	for k, o := range tx.over.keys {
		if !o.gone && k >= string(lo) && k < string(hi) {
			keys, mine = append(keys, []byte(k)), true
		}
	}
	for _, r := range tx.dedup.addList {
		// A touched one is listed above if it is there.
		if bytes.Compare(r.key, lo) >= 0 && bytes.Compare(r.key, hi) < 0 && !tx.over.touched(r.key) {
			keys, mine = append(keys, r.key), true
		}
	}
	if mine {
		slices.SortFunc(keys, bytes.Compare)
	}
	if len(keys) > limit {
		keys = keys[:limit]
	}
	return keys, nil
}
