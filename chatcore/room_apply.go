package chatcore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
)

// DedupWindow is how long, in entry time, a message id is remembered: a send
// retried within it returns the original seq instead of a second message.
const DedupWindow = 15 * time.Minute

// pruneEvery and pruneBatch bound dedup expiry work: at every entry whose
// index is a multiple of pruneEvery, up to pruneBatch expired records are
// dropped. The decision depends only on the log, so replicas agree.
const (
	pruneEvery = 32
	pruneBatch = 128
)

// applyResult is what applying one room entry produced.
type applyResult struct {
	seq       uint64
	ts        int64
	duplicate bool
	msg       *Message // the new message, nil for a duplicate or a rejection
	reject    string   // why the entry was rejected, "" if it was not
}

// roomApplier holds the decision code of a room shard's state machine. It
// reads and writes through an indexed batch, so entries applied earlier in
// the same batch are visible, and it is testable without dragonboat.
type roomApplier struct {
	shard uint64
}

func (a roomApplier) apply(b *pebble.Batch, index uint64, data []byte) (applyResult, error) {
	var cmd roomCommand
	if err := cbor.Unmarshal(data, &cmd); err != nil {
		return applyResult{reject: "undecodable entry"}, nil
	}
	if index%pruneEvery == 0 {
		if err := a.pruneDedup(b); err != nil {
			return applyResult{}, err
		}
	}
	switch cmd.Op {
	case roomOpSend:
		return a.send(b, cmd)
	}
	return applyResult{reject: fmt.Sprintf("unknown op %d", cmd.Op)}, nil
}

func (a roomApplier) send(b *pebble.Batch, cmd roomCommand) (applyResult, error) {
	if ValidateRoom(cmd.Room) != nil || ValidateUser(cmd.User) != nil || ValidateText(cmd.Text) != nil {
		return applyResult{reject: "invalid send"}, nil
	}
	suffix := dedupSuffix(cmd.Room, cmd.User, cmd.ID)
	var dup dedupRecord
	found, err := getCBOR(b, dedupKey(a.shard, suffix), &dup)
	if err != nil {
		return applyResult{}, err
	}
	if found {
		return applyResult{seq: dup.Seq, ts: dup.TS, duplicate: true}, nil
	}
	if err := a.advanceClock(b, cmd.TS); err != nil {
		return applyResult{}, err
	}
	var meta roomMeta
	if _, err := getCBOR(b, metaKey(a.shard, cmd.Room), &meta); err != nil {
		return applyResult{}, err
	}
	if meta.LastSeq == 0 {
		meta.Created = cmd.TS
	}
	meta.LastSeq++
	seq := meta.LastSeq
	writes := []struct {
		key []byte
		val any
	}{
		{msgKey(a.shard, cmd.Room, seq), storedMsg{ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: cmd.Text}},
		{metaKey(a.shard, cmd.Room), meta},
		{dedupKey(a.shard, suffix), dedupRecord{Seq: seq, TS: cmd.TS}},
	}
	for _, w := range writes {
		if err := putCBOR(b, w.key, w.val); err != nil {
			return applyResult{}, err
		}
	}
	if err := b.Set(expiryKey(a.shard, cmd.TS, suffix), nil, nil); err != nil {
		return applyResult{}, fmt.Errorf("room apply: %w", err)
	}
	msg := &Message{Room: cmd.Room, Seq: seq, ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: cmd.Text}
	return applyResult{seq: seq, ts: cmd.TS, msg: msg}, nil
}

// advanceClock records the highest entry time the shard has seen; dedup
// expiry is measured against it, never against the wall clock.
func (a roomApplier) advanceClock(b *pebble.Batch, ts int64) error {
	now, err := getUint64(b, clockKey(a.shard))
	if err != nil {
		return err
	}
	if ts > int64(now) {
		return putUint64(b, clockKey(a.shard), uint64(ts))
	}
	return nil
}

// pruneDedup drops up to pruneBatch dedup records older than the window.
func (a roomApplier) pruneDedup(b *pebble.Batch) error {
	now, err := getUint64(b, clockKey(a.shard))
	if err != nil || now == 0 {
		return err
	}
	cutoff := int64(now) - int64(DedupWindow)
	if cutoff <= 0 {
		return nil
	}
	lo := expiryPrefix(a.shard)
	hi := binary.BigEndian.AppendUint64(expiryPrefix(a.shard), uint64(cutoff))
	it := b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	var doomed [][]byte
	for ok := it.First(); ok && len(doomed) < pruneBatch; ok = it.Next() {
		doomed = append(doomed, append([]byte(nil), it.Key()...))
	}
	if err := it.Close(); err != nil {
		return fmt.Errorf("room prune: %w", err)
	}
	for _, k := range doomed {
		suffix := k[len(lo)+8:]
		if err := b.Delete(dedupKey(a.shard, suffix), nil); err != nil {
			return fmt.Errorf("room prune: %w", err)
		}
		if err := b.Delete(k, nil); err != nil {
			return fmt.Errorf("room prune: %w", err)
		}
	}
	return nil
}

// encodeSendResult packs a send's outcome into a dragonboat result: Value is
// the seq (0 for a rejection) and Data a flag byte plus the stamp, or the
// reason of a rejection.
func encodeSendResult(r applyResult) (uint64, []byte) {
	if r.reject != "" {
		return 0, []byte(r.reject)
	}
	data := make([]byte, 9)
	if r.duplicate {
		data[0] = 1
	}
	binary.BigEndian.PutUint64(data[1:], uint64(r.ts))
	return r.seq, data
}

// SendResult says where a message was committed.
type SendResult struct {
	Room string
	Seq  uint64
	ID   [16]byte
	// TS is the commit stamp of the message, Unix nanoseconds.
	TS int64
	// Duplicate is true when this id had been committed before: Seq and TS
	// are then the original's.
	Duplicate bool
}

func decodeSendResult(room string, id [16]byte, value uint64, data []byte) (SendResult, error) {
	if value == 0 {
		return SendResult{}, fmt.Errorf("send: rejected by state machine: %s: %w", data, ErrInvalid)
	}
	if len(data) != 9 {
		return SendResult{}, fmt.Errorf("send: result of %d bytes", len(data))
	}
	return SendResult{
		Room: room, Seq: value, ID: id,
		TS:        int64(binary.BigEndian.Uint64(data[1:])),
		Duplicate: data[0] == 1,
	}, nil
}
