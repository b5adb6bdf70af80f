package chatcore

import (
	"context"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
)

// MaxBackupMembers is the most members one BackupRead page returns.
const MaxBackupMembers = 1000

// BackupQuery selects one page of a room for a backup: with Members, the
// members named after After; otherwise the messages from seq From (1 if
// zero) to seq To (the room's last if zero), at most MaxHistory of them.
type BackupQuery struct {
	Members bool
	After   string
	From    uint64
	To      uint64
}

// BackupPage is one page of a room for a backup.
type BackupPage struct {
	// Room is the room's directory entry (its creator and creation time);
	// Created falls back to the room's first message when the directory
	// has no entry.
	Room RoomRecord
	// LastSeq is the room's last seq as the page was read; a members page
	// lists the members of the room at exactly that seq.
	LastSeq uint64
	Members []RoomMember
	// NextMember is the After of the next members page, "" after the last.
	NextMember string
	Messages   []parley.Message
}

// BackupRead reads one page of room for a backup, as user by, who must be
// an admin: every room may be read, direct-message rooms included. It is
// linearizable, like History. Each page is one consistent view of the
// room.
func (n *Node) BackupRead(ctx context.Context, by, room string, q BackupQuery) (BackupPage, error) {
	if err := parley.ValidateRoom(room); err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	if err := n.requireAdmin(ctx, by); err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	if err := n.readBarrierOn(ctx, shard); err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	snap := n.db.db.NewSnapshot()
	defer snap.Close()
	var page BackupPage
	var meta roomMeta
	if _, err := getCBOR(snap, metaKey(shard, room), &meta); err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	listed, err := getCBOR(n.db.db, regKey(regRoom, room), &page.Room)
	if err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	if !listed && meta.LastSeq == 0 {
		return BackupPage{}, fmt.Errorf("backup: room %s: %w", room, parley.ErrNotFound)
	}
	page.Room.Name, page.LastSeq = room, meta.LastSeq
	if page.Room.Created == 0 {
		page.Room.Created = meta.Created
	}
	if q.Members {
		page.Members, page.NextMember, err = readMemberPage(snap, shard, room, q.After)
		if err != nil {
			return BackupPage{}, fmt.Errorf("backup: %w", err)
		}
		return page, nil
	}
	from, to := max(q.From, 1), meta.LastSeq
	if q.To > 0 {
		to = min(to, q.To)
	}
	if from > to {
		return page, nil
	}
	to = min(to, from+MaxHistory-1)
	msgs, err := readMessages(snap, shard, room, from, to)
	if err != nil {
		return BackupPage{}, fmt.Errorf("backup: %w", err)
	}
	page.Messages = trimToBytes(msgs, false)
	return page, nil
}

// readMemberPage reads up to MaxBackupMembers members of room named after
// after, with their join times and read markers.
func readMemberPage(r reader, shard uint64, room, after string) ([]RoomMember, string, error) {
	p := memberPrefix(shard, room)
	lo := p
	if after != "" {
		lo = append(memberKey(shard, room, after), 0)
	}
	it := r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(p)})
	defer it.Close()
	var out []RoomMember
	for ok := it.First(); ok; ok = it.Next() {
		user := string(it.Key()[len(p):])
		if len(out) == MaxBackupMembers {
			return out, out[len(out)-1].User, it.Error()
		}
		var rec memberRecord
		if err := cbor.Unmarshal(it.Value(), &rec); err != nil {
			return nil, "", fmt.Errorf("state db: member %s: %w", user, err)
		}
		out = append(out, RoomMember{User: user, Joined: parley.UnixTime(rec.Joined), Read: rec.Read})
	}
	if err := it.Error(); err != nil {
		return nil, "", fmt.Errorf("state db: %w", err)
	}
	return out, "", nil
}
