package chatcore

import (
	"encoding/binary"
	"errors"
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
	op        uint8
	seq       uint64 // a send's seq, or a membership change's notice's
	ts        int64
	duplicate bool
	changed   bool     // a join or leave changed the membership
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
	var (
		res applyResult
		err error
	)
	switch cmd.Op {
	case roomOpSend:
		res, err = a.send(b, cmd)
	case roomOpJoin:
		res, err = a.join(b, cmd)
	case roomOpLeave:
		res, err = a.leave(b, cmd)
	default:
		return applyResult{reject: fmt.Sprintf("unknown op %d", cmd.Op)}, nil
	}
	res.op = cmd.Op
	return res, err
}

func (a roomApplier) send(b *pebble.Batch, cmd roomCommand) (applyResult, error) {
	if ValidateRoom(cmd.Room) != nil || ValidateUser(cmd.User) != nil || ValidateText(cmd.Text) != nil ||
		CheckAccess(cmd.Room, cmd.User) != nil {
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
	meta, err := a.meta(b, cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	// The first message between two users makes both members, so the
	// conversation is in both their lists. No notice: it is implied.
	if x, y, ok := dmParticipants(cmd.Room); ok {
		for _, u := range []string{x, y} {
			if _, err := a.addMember(b, &meta, cmd.Room, u, cmd.TS); err != nil {
				return applyResult{}, err
			}
		}
	}
	msg, err := a.appendMessage(b, &meta, cmd.Room, storedMsg{ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: cmd.Text})
	if err != nil {
		return applyResult{}, err
	}
	if err := putCBOR(b, dedupKey(a.shard, suffix), dedupRecord{Seq: msg.Seq, TS: cmd.TS}); err != nil {
		return applyResult{}, err
	}
	if err := b.Set(expiryKey(a.shard, cmd.TS, suffix), nil, nil); err != nil {
		return applyResult{}, fmt.Errorf("room apply: %w", err)
	}
	return applyResult{seq: msg.Seq, ts: cmd.TS, msg: msg}, nil
}

// join makes cmd.User a member of cmd.Room and appends the notice "<user>
// joined"; joining a room one is a member of changes nothing.
func (a roomApplier) join(b *pebble.Batch, cmd roomCommand) (applyResult, error) {
	if ValidateRoom(cmd.Room) != nil || ValidateUser(cmd.User) != nil || CheckAccess(cmd.Room, cmd.User) != nil ||
		cmd.ID == ([16]byte{}) {
		return applyResult{reject: "invalid join"}, nil
	}
	meta, err := a.meta(b, cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	added, err := a.addMember(b, &meta, cmd.Room, cmd.User, cmd.TS)
	if err != nil || !added {
		return applyResult{ts: cmd.TS}, err
	}
	return a.notice(b, &meta, cmd, KindJoin, cmd.User+" joined")
}

// leave ends cmd.User's membership of cmd.Room and appends the notice
// "<user> left"; leaving a room one is not a member of changes nothing.
func (a roomApplier) leave(b *pebble.Batch, cmd roomCommand) (applyResult, error) {
	if ValidateRoom(cmd.Room) != nil || ValidateUser(cmd.User) != nil || cmd.ID == ([16]byte{}) {
		return applyResult{reject: "invalid leave"}, nil
	}
	key := memberKey(a.shard, cmd.Room, cmd.User)
	var rec memberRecord
	found, err := getCBOR(b, key, &rec)
	if err != nil || !found {
		return applyResult{ts: cmd.TS}, err
	}
	meta, err := a.meta(b, cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	if err := b.Delete(key, nil); err != nil {
		return applyResult{}, fmt.Errorf("room apply: %w", err)
	}
	meta.Members = max(meta.Members-1, 0)
	return a.notice(b, &meta, cmd, KindLeave, cmd.User+" left")
}

// notice appends a membership notice and writes meta.
func (a roomApplier) notice(b *pebble.Batch, meta *roomMeta, cmd roomCommand, kind, text string) (applyResult, error) {
	if err := a.advanceClock(b, cmd.TS); err != nil {
		return applyResult{}, err
	}
	msg, err := a.appendMessage(b, meta, cmd.Room, storedMsg{ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: text, Kind: kind})
	if err != nil {
		return applyResult{}, err
	}
	return applyResult{seq: msg.Seq, ts: cmd.TS, changed: true, msg: msg}, nil
}

// meta reads room's header; a room seen for the first time is created at ts.
func (a roomApplier) meta(b *pebble.Batch, room string, ts int64) (roomMeta, error) {
	var meta roomMeta
	if _, err := getCBOR(b, metaKey(a.shard, room), &meta); err != nil {
		return meta, err
	}
	if meta.Created == 0 {
		meta.Created = ts
	}
	return meta, nil
}

// addMember records user as a member of room unless it is one, counting it
// in meta (which the caller writes). It reports whether user was added.
func (a roomApplier) addMember(b *pebble.Batch, meta *roomMeta, room, user string, ts int64) (bool, error) {
	key := memberKey(a.shard, room, user)
	_, closer, err := b.Get(key)
	if err == nil {
		closer.Close()
		return false, nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return false, fmt.Errorf("room apply: %w", err)
	}
	meta.Members++
	return true, putCBOR(b, key, memberRecord{Joined: ts})
}

// appendMessage gives m the room's next seq and writes it and meta.
func (a roomApplier) appendMessage(b *pebble.Batch, meta *roomMeta, room string, m storedMsg) (*Message, error) {
	meta.LastSeq++
	if err := putCBOR(b, msgKey(a.shard, room, meta.LastSeq), m); err != nil {
		return nil, err
	}
	if err := putCBOR(b, metaKey(a.shard, room), *meta); err != nil {
		return nil, err
	}
	return &Message{Room: room, Seq: meta.LastSeq, ID: m.ID, User: m.User, TS: m.TS, Text: m.Text, Kind: m.Kind}, nil
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

// encodeResult packs an entry's outcome into a dragonboat result. Value is
// 0 for a rejection, with the reason in Data. For a send, Value is the seq
// and Data a duplicate flag byte and the stamp; for a join or leave, Value
// is 1 and Data a changed flag byte and the notice's seq.
func encodeResult(r applyResult) (uint64, []byte) {
	if r.reject != "" {
		return 0, []byte(r.reject)
	}
	data := make([]byte, 9)
	switch r.op {
	case roomOpJoin, roomOpLeave:
		if r.changed {
			data[0] = 1
		}
		binary.BigEndian.PutUint64(data[1:], r.seq)
		return 1, data
	}
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
