package chatcore

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/parleychat/parley"
)

// DedupWindow is how long, in entry time, a message id is remembered: a send
// retried within it returns the original seq instead of a second message.
const DedupWindow = 15 * time.Minute

// pruneEvery bounds dedup expiry work: after every pruneEvery sends, the
// shard drops up to twice as many expired dedup records, so expiry keeps up
// with the sends however they are packed into entries. The decision depends
// only on the log, so replicas agree whatever batches they apply entries in.
const pruneEvery = 256

// applyResult is what applying one room entry produced.
type applyResult struct {
	op        uint8
	seq       uint64 // a send's seq, or a membership change's notice's
	ts        int64
	duplicate bool
	changed   bool              // a join or leave changed the membership
	msg       *parley.Message   // the new message, nil for a duplicate or a rejection
	reject    string            // why the entry was rejected, "" if it was not
	items     []applyResult     // a batch's sends, in order
	imported  []*parley.Message // an import's new messages
	importOut importOutcome     // an import's outcome
	fence     *fenceCmd         // an applied fence
}

// roomApplier holds the decision code of a room shard's state machine. It
// reads and writes through a roomTx, so entries applied earlier in the same
// batch are visible, and it is testable without dragonboat.
type roomApplier struct {
	shard uint64
	// ids finds the dedup record of a message id (see dedupIndex); a
	// replica builds it as it opens.
	ids *dedupIndex
}

// applyEntry applies one entry within tx, which the caller flushes.
func (a roomApplier) applyEntry(tx *roomTx, data []byte) (applyResult, error) {
	var cmd roomCommand
	if err := decodeRoomCommand(data, &cmd); err != nil {
		return applyResult{reject: "undecodable entry"}, nil
	}
	var (
		res applyResult
		err error
	)
	switch cmd.Op {
	case roomOpSend:
		res, err = a.send(tx, cmd)
	case roomOpJoin:
		res, err = a.join(tx, cmd)
	case roomOpLeave:
		res, err = a.leave(tx, cmd)
	case roomOpBatch:
		res, err = a.batch(tx, cmd)
	case roomOpRead:
		res, err = a.read(tx, cmd)
	case roomOpImport:
		res, err = a.importBatch(tx, cmd)
	case roomOpFence:
		res = a.fence(cmd)
	default:
		return applyResult{reject: fmt.Sprintf("unknown op %d", cmd.Op)}, nil
	}
	res.op = cmd.Op
	return res, err
}

// batch applies a group-committed batch of sends, each as send would.
func (a roomApplier) batch(tx *roomTx, cmd roomCommand) (applyResult, error) {
	if len(cmd.Batch) == 0 || cmd.Room != "" || cmd.User != "" || cmd.Text != "" {
		return applyResult{reject: "invalid batch"}, nil
	}
	res := applyResult{items: make([]applyResult, len(cmd.Batch))}
	for i, c := range cmd.Batch {
		if c.Op != roomOpSend || len(c.Batch) != 0 {
			res.items[i] = applyResult{op: c.Op, reject: "not a send"}
			continue
		}
		r, err := a.send(tx, c)
		if err != nil {
			return applyResult{}, err
		}
		r.op = c.Op
		res.items[i] = r
	}
	return res, nil
}

func (a roomApplier) send(tx *roomTx, cmd roomCommand) (applyResult, error) {
	if parley.ValidateRoom(cmd.Room) != nil || parley.ValidateUser(cmd.User) != nil || parley.ValidateText(cmd.Text) != nil ||
		parley.CheckAccess(cmd.Room, cmd.User) != nil {
		return applyResult{reject: "invalid send"}, nil
	}
	suffix := dedupSuffix(cmd.Room, cmd.User, cmd.ID)
	h := a.ids.hash(suffix)
	if seq, ts, found, err := a.findDedup(tx, h, suffix); err != nil || found {
		return applyResult{seq: seq, ts: ts, duplicate: true}, err
	}
	if err := tx.advanceClock(cmd.TS); err != nil {
		return applyResult{}, err
	}
	meta, err := tx.meta(cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	// The first message between two users makes both members, so the
	// conversation is in both their lists. No notice: it is implied.
	if x, y, ok := parley.DMParticipants(cmd.Room); ok {
		for _, u := range []string{x, y} {
			// The sender has read their own message, the other has not.
			read := meta.LastSeq
			if u == cmd.User {
				read++
			}
			if _, err := a.addMember(tx, &meta, cmd.Room, u, cmd.TS, read); err != nil {
				return applyResult{}, err
			}
		}
	}
	msg, err := a.appendMessage(tx, &meta, cmd.Room, storedMsg{ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: cmd.Text})
	if err != nil {
		return applyResult{}, err
	}
	if err := a.putDedup(tx, h, suffix, cmd.TS, msg.Seq); err != nil {
		return applyResult{}, err
	}
	if err := a.payDebt(tx); err != nil {
		return applyResult{}, err
	}
	return applyResult{seq: msg.Seq, ts: cmd.TS, msg: msg}, nil
}

// join makes cmd.User a member of cmd.Room and appends the notice "<user>
// joined"; joining a room one is a member of changes nothing.
func (a roomApplier) join(tx *roomTx, cmd roomCommand) (applyResult, error) {
	if parley.ValidateRoom(cmd.Room) != nil || parley.ValidateUser(cmd.User) != nil || parley.CheckAccess(cmd.Room, cmd.User) != nil ||
		cmd.ID == ([16]byte{}) {
		return applyResult{reject: "invalid join"}, nil
	}
	if res, found, err := a.repeatedChange(tx, cmd); err != nil || found {
		return res, err
	}
	meta, err := tx.meta(cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	// The member has read up to their own join notice, which comes next.
	added, err := a.addMember(tx, &meta, cmd.Room, cmd.User, cmd.TS, meta.LastSeq+1)
	if err != nil || !added {
		return applyResult{ts: cmd.TS}, err
	}
	return a.notice(tx, &meta, cmd, parley.KindJoin, cmd.User+" joined")
}

// leave ends cmd.User's membership of cmd.Room and appends the notice
// "<user> left"; leaving a room one is not a member of changes nothing.
func (a roomApplier) leave(tx *roomTx, cmd roomCommand) (applyResult, error) {
	if parley.ValidateRoom(cmd.Room) != nil || parley.ValidateUser(cmd.User) != nil || cmd.ID == ([16]byte{}) {
		return applyResult{reject: "invalid leave"}, nil
	}
	if res, found, err := a.repeatedChange(tx, cmd); err != nil || found {
		return res, err
	}
	key := memberKey(a.shard, cmd.Room, cmd.User)
	var rec memberRecord
	found, err := tx.getCBOR(key, &rec)
	if err != nil || !found {
		return applyResult{ts: cmd.TS}, err
	}
	meta, err := tx.meta(cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	if err := tx.del(key); err != nil {
		return applyResult{}, fmt.Errorf("room apply: %w", err)
	}
	meta.Members = max(meta.Members-1, 0)
	return a.notice(tx, &meta, cmd, parley.KindLeave, cmd.User+" left")
}

// read moves cmd.User's read marker in cmd.Room forward to cmd.Seq, capped
// at the room's last seq. A marker never moves back, and a user who is not
// a member has none: both change nothing.
func (a roomApplier) read(tx *roomTx, cmd roomCommand) (applyResult, error) {
	if parley.ValidateRoom(cmd.Room) != nil || parley.ValidateUser(cmd.User) != nil || cmd.Seq == 0 {
		return applyResult{reject: "invalid read marker"}, nil
	}
	key := memberKey(a.shard, cmd.Room, cmd.User)
	var rec memberRecord
	found, err := tx.getCBOR(key, &rec)
	if err != nil || !found {
		return applyResult{ts: cmd.TS}, err
	}
	meta, err := tx.meta(cmd.Room, cmd.TS)
	if err != nil {
		return applyResult{}, err
	}
	seq := min(cmd.Seq, meta.LastSeq)
	if seq <= rec.Read {
		return applyResult{ts: cmd.TS, seq: rec.Read}, nil
	}
	rec.Read = seq
	return applyResult{ts: cmd.TS, seq: seq, changed: true}, tx.setCBOR(key, rec)
}

// notice appends a membership notice and writes meta. The notice gets a
// dedup record under its id, as a sent message does, so that a copy of the
// change finds it (see repeatedChange).
func (a roomApplier) notice(tx *roomTx, meta *roomMeta, cmd roomCommand, kind, text string) (applyResult, error) {
	if err := tx.advanceClock(cmd.TS); err != nil {
		return applyResult{}, err
	}
	msg, err := a.appendMessage(tx, meta, cmd.Room, storedMsg{ID: cmd.ID, User: cmd.User, TS: cmd.TS, Text: text, Kind: kind})
	if err != nil {
		return applyResult{}, err
	}
	suffix := dedupSuffix(cmd.Room, cmd.User, cmd.ID)
	if err := a.putDedup(tx, a.ids.hash(suffix), suffix, cmd.TS, msg.Seq); err != nil {
		return applyResult{}, err
	}
	if err := a.payDebt(tx); err != nil {
		return applyResult{}, err
	}
	return applyResult{seq: msg.Seq, ts: cmd.TS, changed: true, msg: msg}, nil
}

// repeatedChange finds the dedup record of a join's or leave's id. A
// change is proposed again with the same id when an attempt timed out or
// was aborted, and that attempt may have committed: the copy then reports
// the first copy's outcome, a change with its notice's seq, and changes
// nothing. A change that changed nothing left no record, and neither will
// its copy.
func (a roomApplier) repeatedChange(tx *roomTx, cmd roomCommand) (applyResult, bool, error) {
	suffix := dedupSuffix(cmd.Room, cmd.User, cmd.ID)
	seq, ts, found, err := a.findDedup(tx, a.ids.hash(suffix), suffix)
	if err != nil || !found {
		return applyResult{}, false, err
	}
	return applyResult{seq: seq, ts: ts, changed: true, duplicate: true}, true, nil
}

// addMember records user as a member of room unless it is one, counting it
// in meta (which the caller writes), with its read marker at read. It
// reports whether user was added.
func (a roomApplier) addMember(tx *roomTx, meta *roomMeta, room, user string, ts int64, read uint64) (bool, error) {
	key := memberKey(a.shard, room, user)
	if found, err := tx.has(key); err != nil || found {
		return false, err
	}
	meta.Members++
	return true, tx.setCBOR(key, memberRecord{Joined: ts, Read: read})
}

// appendMessage gives m the room's next seq and writes it and meta.
func (a roomApplier) appendMessage(tx *roomTx, meta *roomMeta, room string, m storedMsg) (*parley.Message, error) {
	meta.LastSeq++
	if err := tx.putMessage(room, meta.LastSeq, m); err != nil {
		return nil, err
	}
	tx.putMeta(room, *meta)
	return &parley.Message{Room: room, Seq: meta.LastSeq, ID: m.ID, User: m.User, TS: parley.UnixTime(m.TS), Text: m.Text, Kind: m.Kind}, nil
}

// payDebt counts a new dedup record and, every pruneEvery of them, drops
// up to twice as many expired ones.
func (a roomApplier) payDebt(tx *roomTx) error {
	debt, err := tx.addDebt(1)
	if err != nil || debt < pruneEvery {
		return err
	}
	tx.debt.set(0)
	return a.pruneDedup(tx, int(2*debt))
}

// pruneDedup drops up to limit dedup records older than the window.
func (a roomApplier) pruneDedup(tx *roomTx, limit int) error {
	now, err := tx.now()
	if err != nil || now == 0 {
		return err
	}
	cutoff := int64(now) - int64(DedupWindow)
	if cutoff <= 0 {
		return nil
	}
	lo := expiryPrefix(a.shard)
	hi := binary.BigEndian.AppendUint64(expiryPrefix(a.shard), uint64(cutoff))
	doomed, err := tx.firstKeys(lo, hi, limit)
	if err != nil {
		return fmt.Errorf("room prune: %w", err)
	}
	for _, k := range doomed {
		if err := tx.del(k); err != nil {
			return fmt.Errorf("room prune: %w", err)
		}
		ts := int64(binary.BigEndian.Uint64(k[len(lo):]))
		tx.dedup.removed = append(tx.dedup.removed, hashTS{a.ids.hash(k[len(lo)+8:]), ts})
	}
	return nil
}

// encodeResult packs an entry's outcome into a dragonboat result. Value is
// 0 for a rejection, with the reason in Data. For a send, Value is the seq
// and Data a duplicate flag byte and the stamp; for a join or leave, Value
// is 1 and Data a changed flag byte and the notice's seq (for a read
// marker: its position); for a batch, Value
// is 1 and Data the CBOR array of its sends' batchItems.
func encodeResult(r applyResult) (uint64, []byte, error) {
	if r.reject != "" {
		return 0, []byte(r.reject), nil
	}
	if r.op == roomOpImport {
		return encodeImport(r)
	}
	if r.op == roomOpFence {
		return 1, nil, nil
	}
	if r.op == roomOpBatch {
		items := make([]batchItem, len(r.items))
		for i, it := range r.items {
			items[i] = batchItem{Seq: it.seq, TS: it.ts, Duplicate: it.duplicate, Reject: it.reject}
		}
		return 1, encodeBatchItems(items), nil
	}
	data := make([]byte, 9)
	switch r.op {
	case roomOpJoin, roomOpLeave, roomOpRead:
		if r.changed {
			data[0] = 1
		}
		binary.BigEndian.PutUint64(data[1:], r.seq)
		return 1, data, nil
	}
	if r.duplicate {
		data[0] = 1
	}
	binary.BigEndian.PutUint64(data[1:], uint64(r.ts))
	return r.seq, data, nil
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
