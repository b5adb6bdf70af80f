package chatcore

import (
	"context"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
)

// Restoring a backup. An import writes a room's messages with the seqs,
// ids, users and times they had in the cluster they were exported from,
// and its members, through the room's Raft log (roomOpImport), so every
// replica applies the same decision. A batch fits only where it agrees
// with the room: each seq the room already holds must hold the very same
// message (it is then skipped), and the first new seq must follow the
// room's last one. Otherwise the whole batch is refused and nothing
// changes. Batches are applied in seq order, so a conflict, which can only
// be at a seq the room held before the import began, is found at the
// latest in the first batch that would add anything: an import that is
// refused for a conflict leaves the room as it was.

// Bounds of one import batch: a Raft entry, and a request frame.
const (
	// MaxImportMessages bounds the messages, and the members, of one batch.
	MaxImportMessages = 1000
	// MaxImportBytes bounds the text, names and overhead of one batch.
	MaxImportBytes = 512 << 10
)

// regOpRestoreRoom records a room of a backup in the registry's directory
// with its original creator and creation time: like regOpCreateRoom, but
// only the cluster's room count limits it, not its creator's rate, since the
// rooms of a backup were created long before.
const regOpRestoreRoom uint8 = 64

// roomOpImport writes a batch of a backup into a room (roomCommand.Import).
const roomOpImport uint8 = 16

// importCmd is the body of a roomOpImport entry.
type importCmd struct {
	// Created is the room's creation time, for a room new here.
	Created int64 `cbor:"1,keyasint,omitempty"`
	// First is the seq of Msgs[0]; the others follow without a gap.
	First uint64      `cbor:"2,keyasint,omitempty"`
	Msgs  []storedMsg `cbor:"3,keyasint,omitempty"`
	// Members are members of the room as it was at seq Last, added after
	// Msgs if the room then ends at Last.
	Members []importMember `cbor:"4,keyasint,omitempty"`
	Last    uint64         `cbor:"5,keyasint,omitempty"`
	// ID names the batch, the same in every copy of it: a copy proposed
	// again after a leader change, or sent again after a reconnect, is
	// answered with the first copy's outcome (importMark). Zero: none.
	ID [16]byte `cbor:"6,keyasint,omitempty"`
}

// importMark is a room's last import batch that changed it (key
// importMarkKey): a later copy of the batch gets the outcome the first one
// had, rather than "all skipped", so an importer counts what it added
// exactly once.
type importMark struct {
	ID  [16]byte      `cbor:"1,keyasint"`
	Out importOutcome `cbor:"2,keyasint"`
}

// importMember is one member of an importCmd.
type importMember struct {
	User   string `cbor:"1,keyasint"`
	Joined int64  `cbor:"2,keyasint"`
	Read   uint64 `cbor:"3,keyasint,omitempty"`
}

// importOutcome is the result Data of an applied roomOpImport.
type importOutcome struct {
	Added   int    `cbor:"1,keyasint,omitempty"`
	Skipped int    `cbor:"2,keyasint,omitempty"`
	LastSeq uint64 `cbor:"3,keyasint,omitempty"`
	// MembersAdded counts new members; members already there are kept.
	MembersAdded int `cbor:"4,keyasint,omitempty"`
	// MembersStale is set when the room had moved past Last, so its
	// membership was left as it is.
	MembersStale bool `cbor:"5,keyasint,omitempty"`
}

// importBatch applies a roomOpImport: all of it, or nothing with a
// rejection that says why.
func (a roomApplier) importBatch(tx *roomTx, cmd roomCommand) (applyResult, error) {
	in := cmd.Import
	if in == nil || len(cmd.Batch) != 0 || cmd.Text != "" {
		return applyResult{reject: "invalid import"}, nil
	}
	if len(in.Msgs) == 0 && len(in.Members) == 0 {
		return applyResult{reject: "import: empty batch"}, nil
	}
	if why := checkImport(cmd.Room, in); why != "" {
		return applyResult{reject: why}, nil
	}
	if in.ID != ([16]byte{}) {
		var mark importMark
		found, err := tx.getCBOR(importMarkKey(a.shard, cmd.Room), &mark)
		if err != nil {
			return applyResult{}, err
		}
		if found && mark.ID == in.ID {
			return applyResult{ts: cmd.TS, seq: mark.Out.LastSeq, importOut: mark.Out}, nil
		}
	}
	created := in.Created
	if created <= 0 && len(in.Msgs) > 0 {
		created = in.Msgs[0].TS
	}
	if created <= 0 {
		created = cmd.TS
	}
	meta, err := tx.meta(cmd.Room, created)
	if err != nil {
		return applyResult{}, err
	}
	out := importOutcome{}
	// Decide first, write after: a refused batch writes nothing.
	var fresh []storedMsg
	for i, m := range in.Msgs {
		seq := in.First + uint64(i)
		if seq > meta.LastSeq {
			if len(fresh) == 0 && seq != meta.LastSeq+1 {
				return applyResult{reject: fmt.Sprintf("import: room %s ends at seq %d: seq %d would leave a gap", cmd.Room, meta.LastSeq, seq)}, nil
			}
			fresh = append(fresh, m)
			continue
		}
		var old storedMsg
		found, err := tx.message(cmd.Room, seq, &old)
		if err != nil {
			return applyResult{}, err
		}
		if !found || !sameMessage(old, m) {
			return applyResult{reject: fmt.Sprintf("import: room %s: seq %d holds another message (id %s by %s)", cmd.Room, seq, parley.MsgID(old.ID), old.User)}, nil
		}
		out.Skipped++
	}
	if len(in.Members) > 0 && meta.LastSeq+uint64(len(fresh)) < in.Last {
		return applyResult{reject: fmt.Sprintf("import: room %s ends at seq %d, before the backup's members at seq %d", cmd.Room, meta.LastSeq+uint64(len(fresh)), in.Last)}, nil
	}
	res := applyResult{ts: cmd.TS}
	// The shard clock is left alone, so that an import that adds nothing
	// changes nothing; the entry's own stamp says how recent is recent.
	clock, err := tx.now()
	if err != nil {
		return applyResult{}, err
	}
	now := max(int64(clock), cmd.TS)
	for _, m := range fresh {
		msg, err := a.appendMessage(tx, &meta, cmd.Room, m)
		if err != nil {
			return applyResult{}, err
		}
		res.imported = append(res.imported, msg)
		out.Added++
		if m.Kind == "" && m.TS >= now-int64(DedupWindow) {
			// Recent enough that its sender may still retry it here.
			if err := a.rememberID(tx, cmd.Room, m, msg.Seq); err != nil {
				return applyResult{}, err
			}
		}
	}
	if len(in.Members) > 0 {
		if meta.LastSeq > in.Last {
			out.MembersStale = true // the room moved on: its membership stands
		} else {
			for _, mb := range in.Members {
				added, err := a.addMember(tx, &meta, cmd.Room, mb.User, mb.Joined, mb.Read)
				if err != nil {
					return applyResult{}, err
				}
				if added {
					out.MembersAdded++
				}
			}
			if out.MembersAdded > 0 {
				tx.putMeta(cmd.Room, meta)
			}
		}
	}
	out.LastSeq = meta.LastSeq
	res.seq = meta.LastSeq
	res.importOut = out
	if in.ID != ([16]byte{}) && (out.Added > 0 || out.MembersAdded > 0) {
		// A batch that changed nothing needs no mark: a copy of it
		// changes nothing either, and says so alike.
		if err := tx.setCBOR(importMarkKey(a.shard, cmd.Room), importMark{ID: in.ID, Out: out}); err != nil {
			return applyResult{}, err
		}
	}
	return res, nil
}

// checkImport validates an import batch on its own, before the room is
// read; it returns why it is refused, "" if it is not.
func checkImport(room string, in *importCmd) string {
	if err := parley.ValidateRoom(room); err != nil {
		return fmt.Sprintf("import: %v", err)
	}
	if len(in.Msgs) > MaxImportMessages || len(in.Members) > MaxImportMessages {
		return fmt.Sprintf("import: room %s: more than %d messages or members in one batch", room, MaxImportMessages)
	}
	if len(in.Msgs) > 0 && in.First == 0 {
		return fmt.Sprintf("import: room %s: messages from seq 0", room)
	}
	for i, m := range in.Msgs {
		if why := checkImportedMessage(room, m); why != "" {
			return fmt.Sprintf("import: room %s: seq %d: %s", room, in.First+uint64(i), why)
		}
	}
	for _, mb := range in.Members {
		switch {
		case parley.ValidateUser(mb.User) != nil:
			return fmt.Sprintf("import: room %s: member %q: bad name", room, mb.User)
		case parley.CheckAccess(room, mb.User) != nil:
			return fmt.Sprintf("import: room %s: %s may not be a member of a direct-message room of others", room, mb.User)
		case mb.Joined <= 0:
			return fmt.Sprintf("import: room %s: member %s: no join time", room, mb.User)
		case mb.Read > in.Last:
			return fmt.Sprintf("import: room %s: member %s: read marker %d past the room's last seq %d", room, mb.User, mb.Read, in.Last)
		}
	}
	return ""
}

// checkImportedMessage returns why m cannot be a message of room, "" if it
// can.
func checkImportedMessage(room string, m storedMsg) string {
	switch {
	case m.ID == [16]byte{}:
		return "zero message id"
	case m.TS <= 0:
		return "no time"
	case parley.ValidateUser(m.User) != nil:
		return fmt.Sprintf("bad user name %q", m.User)
	case parley.ValidateText(m.Text) != nil:
		return "bad text"
	case m.Kind != "" && m.Kind != parley.KindJoin && m.Kind != parley.KindLeave:
		return fmt.Sprintf("unknown kind %q", m.Kind)
	case parley.CheckAccess(room, m.User) != nil:
		return fmt.Sprintf("%s may not write to a direct-message room of others", m.User)
	}
	return ""
}

func sameMessage(a, b storedMsg) bool {
	return a.ID == b.ID && a.User == b.User && a.TS == b.TS && a.Text == b.Text && a.Kind == b.Kind
}

// rememberID writes the dedup record of an imported message, unless its id
// has one, so that a retry of the original send is still a duplicate.
func (a roomApplier) rememberID(tx *roomTx, room string, m storedMsg, seq uint64) error {
	suffix := dedupSuffix(room, m.User, m.ID)
	h := a.ids.hash(suffix)
	if _, _, found, err := a.findDedup(tx, h, suffix); err != nil || found {
		return err
	}
	if err := a.putDedup(tx, h, suffix, m.TS, seq); err != nil {
		return err
	}
	return a.payDebt(tx)
}

// RoomMember is one member of a room, as a backup holds it.
type RoomMember struct {
	User string
	// Joined is when the user became a member.
	Joined time.Time
	// Read is the member's read marker: the last seq they have seen.
	Read uint64
}

// ImportBatch is one batch of a backup for Node.Import: consecutive
// messages of one room, and members of the room as it was at LastSeq. A
// batch with neither only enters the room in the directory.
type ImportBatch struct {
	Room string
	// Creator and Created are the room's directory entry, used when the
	// room is new to this cluster.
	Creator string
	Created time.Time
	// Messages have consecutive seqs; their Room is Room or "".
	Messages []parley.Message
	// Members are members of the room at seq LastSeq, the room's last seq
	// in the backup. They are added once the room holds exactly the
	// backup's messages; a room that has moved on keeps its membership.
	Members []RoomMember
	LastSeq uint64
	// ID names the batch. Sending the same batch again with the same ID,
	// after an error that left its fate unknown, reports what the first
	// copy did rather than counting its messages as skipped. Zero: Import
	// picks one, which covers its own retries only.
	ID parley.MsgID
}

// ImportResult says what one import batch did.
type ImportResult struct {
	// Added counts messages written; Skipped those the room held already.
	Added, Skipped int
	// MembersAdded counts new members.
	MembersAdded int
	// MembersStale is set when the room had moved past the backup's last
	// seq, so its membership was left as it is.
	MembersStale bool
	// LastSeq is the room's last seq after the batch.
	LastSeq uint64
}

// Import writes one batch of a backup into its room, as user by, who must
// be an admin. Every message keeps its seq, id, user, time, text and kind.
// A batch whose messages the room holds already changes nothing, so an
// import may be repeated or resumed. A batch that disagrees with the room
// (a seq that holds another message, or a gap after the room's last seq)
// is refused whole, and so is bad input, both with parley.ErrInvalid and a
// message that names the seq; neither changes anything. Messages recent enough to
// be retried are remembered by id (DedupWindow), and the room is entered
// in the directory.
func (n *Node) Import(ctx context.Context, by string, b ImportBatch) (ImportResult, error) {
	if err := n.requireAdmin(ctx, by); err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	cmd, err := importCommand(b)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: room %s: %w", b.Room, err)
	}
	shard, err := n.RoomShard(b.Room)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	if err := n.restoreRoom(ctx, b); err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	if len(b.Messages) == 0 && len(b.Members) == 0 {
		return ImportResult{}, nil // a room without messages: its entry is all
	}
	cmd.TS = time.Now().UnixNano()
	id := b.ID
	if id.IsZero() {
		id = parley.NewMsgID(time.Now())
	}
	cmd.Import.ID = id
	data, err := cbor.Marshal(cmd)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: encode: %w", err)
	}
	res, err := n.propose(ctx, shard, data)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import: %w", err)
	}
	if res.Value == 0 {
		return ImportResult{}, fmt.Errorf("%s: %w", res.Data, parley.ErrInvalid)
	}
	var out importOutcome
	if err := cbor.Unmarshal(res.Data, &out); err != nil {
		return ImportResult{}, fmt.Errorf("import: result: %w", err)
	}
	return ImportResult{Added: out.Added, Skipped: out.Skipped, MembersAdded: out.MembersAdded, MembersStale: out.MembersStale, LastSeq: out.LastSeq}, nil
}

// Check reports what is wrong with b on its own, before any room is read:
// bad names, texts, kinds, ids or times, seqs that do not follow each
// other, a direct-message room's stranger, or a batch over its bounds.
// Node.Import checks it first.
func (b ImportBatch) Check() error {
	if _, err := importCommand(b); err != nil {
		return fmt.Errorf("import: room %s: %w", b.Room, err)
	}
	return nil
}

// importCommand checks b and turns it into a roomOpImport entry (without
// its stamp).
func importCommand(b ImportBatch) (roomCommand, error) {
	in := &importCmd{Last: b.LastSeq, Msgs: make([]storedMsg, len(b.Messages))}
	if !b.Created.IsZero() {
		in.Created = b.Created.UnixNano()
	}
	size := 0
	for i, m := range b.Messages {
		if m.Room != "" && m.Room != b.Room {
			return roomCommand{}, fmt.Errorf("message of room %s in the batch: %w", m.Room, parley.ErrInvalid)
		}
		if i == 0 {
			in.First = m.Seq
		} else if m.Seq != in.First+uint64(i) {
			return roomCommand{}, fmt.Errorf("seq %d after seq %d: %w", m.Seq, in.First+uint64(i)-1, parley.ErrInvalid)
		}
		in.Msgs[i] = storedMsg{ID: m.ID, User: m.User, TS: m.TS.UnixNano(), Text: m.Text, Kind: m.Kind}
		size += len(m.Text) + len(m.User) + 48
	}
	for _, mb := range b.Members {
		in.Members = append(in.Members, importMember{User: mb.User, Joined: mb.Joined.UnixNano(), Read: mb.Read})
		size += len(mb.User) + 32
	}
	if size > MaxImportBytes {
		return roomCommand{}, fmt.Errorf("batch of %d bytes, limit %d: %w", size, MaxImportBytes, parley.ErrTooLarge)
	}
	if why := checkImport(b.Room, in); why != "" {
		return roomCommand{}, fmt.Errorf("%s: %w", why, parley.ErrInvalid)
	}
	return roomCommand{Op: roomOpImport, Room: b.Room, Import: in}, nil
}

// restoreRoom enters b's room in the registry's directory unless it is
// there, with the backup's creator and creation time.
func (n *Node) restoreRoom(ctx context.Context, b ImportBatch) error {
	var rec RoomRecord
	found, err := getCBOR(n.db.db, regKey(regRoom, b.Room), &rec)
	if err != nil || found {
		return err
	}
	newRec := &RoomRecord{Name: b.Room, Creator: b.Creator, Created: time.Now().UnixNano()}
	if !b.Created.IsZero() {
		newRec.Created = b.Created.UnixNano()
	}
	if parley.ValidateUser(newRec.Creator) != nil {
		newRec.Creator = ""
	}
	v, err := n.proposeRegistry(ctx, registryCommand{Op: regOpRestoreRoom, Room: newRec})
	if err != nil {
		return err
	}
	if v == regQuotaRooms {
		info, _, _ := n.clusterInfo()
		return quotaError(v, info.Quotas, newRec)
	}
	if v == regRejected {
		return fmt.Errorf("room %s: refused by the registry: %w", b.Room, parley.ErrInvalid)
	}
	return nil
}

// applyRestoreRoom is regOpRestoreRoom in the registry's apply.
func (r *registryShard) applyRestoreRoom(b *pebble.Batch, info ClusterInfo, cmd registryCommand) (uint64, error) {
	if cmd.Room == nil || parley.ValidateRoom(cmd.Room.Name) != nil {
		return regRejected, nil
	}
	if found, err := getCBOR(b, regKey(regRoom, cmd.Room.Name), &RoomRecord{}); err != nil || found {
		return regExisted, err
	}
	count, err := roomCount(b)
	if err != nil {
		return 0, err
	}
	if count >= uint64(info.Quotas.withDefaults().MaxRooms) {
		return regQuotaRooms, nil
	}
	if err := recordRoom(b, cmd.Room); err != nil {
		return 0, err
	}
	return r.putNew(b, regKey(regRoom, cmd.Room.Name), cmd.Room)
}

// encodeImport packs an import's outcome into a dragonboat result.
func encodeImport(r applyResult) (uint64, []byte, error) {
	data, err := cbor.Marshal(r.importOut)
	if err != nil {
		return 0, nil, fmt.Errorf("room apply: import result: %w", err)
	}
	return 1, data, nil
}
