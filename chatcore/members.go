package chatcore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
)

// MembershipResult is the outcome of a Join or a Leave.
type MembershipResult struct {
	// Changed is false when there was nothing to do: the user was a
	// member already (Join) or was not one (Leave).
	Changed bool
	// Seq is the seq of the notice the change appended to the room ("alice
	// joined", "alice left"), 0 when nothing changed.
	Seq uint64
}

// Join makes user a member of room, durably, and appends the notice "<user>
// joined" to the room; the room is created if new. Joining a room one is a
// member of changes nothing, so a retried Join is harmless. An attempt that
// Join itself retries (after a timeout or a leader change) carries the
// first attempt's id, so if that one committed, Join reports its change and
// notice. Only its two participants may join a direct-message room
// (parley.ErrForbidden).
func (n *Node) Join(ctx context.Context, room, user string) (MembershipResult, error) {
	res, err := n.changeMembership(ctx, roomOpJoin, room, user)
	if err != nil {
		return res, fmt.Errorf("join: %w", err)
	}
	return res, nil
}

// Leave ends user's membership of room and appends the notice "<user> left"
// to the room. Leaving a room one is not a member of changes nothing, so a
// retried Leave is harmless; its own retries report the first attempt's
// outcome, as Join's do. Only its two participants may leave a
// direct-message room (parley.ErrForbidden).
func (n *Node) Leave(ctx context.Context, room, user string) (MembershipResult, error) {
	res, err := n.changeMembership(ctx, roomOpLeave, room, user)
	if err != nil {
		return res, fmt.Errorf("leave: %w", err)
	}
	return res, nil
}

func (n *Node) changeMembership(ctx context.Context, op uint8, room, user string) (MembershipResult, error) {
	if err := checkUse(room, user); err != nil {
		return MembershipResult{}, err
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return MembershipResult{}, err
	}
	if op == roomOpJoin {
		if err := n.ensureRoom(ctx, room, user); err != nil {
			return MembershipResult{}, err
		}
		if err := n.checkMemberQuota(shard, room, user); err != nil {
			return MembershipResult{}, err
		}
	}
	now := time.Now()
	cmd, err := cbor.Marshal(roomCommand{Op: op, Room: room, User: user, ID: parley.NewMsgID(now), TS: now.UnixNano()})
	if err != nil {
		return MembershipResult{}, fmt.Errorf("encode: %w", err)
	}
	res, err := n.propose(ctx, shard, cmd)
	if err != nil {
		return MembershipResult{}, err
	}
	if res.Value == 0 {
		return MembershipResult{}, fmt.Errorf("rejected by state machine: %s: %w", res.Data, parley.ErrInvalid)
	}
	if len(res.Data) != 9 {
		return MembershipResult{}, fmt.Errorf("result of %d bytes", len(res.Data))
	}
	return MembershipResult{Changed: res.Data[0] == 1, Seq: binary.BigEndian.Uint64(res.Data[1:])}, nil
}

// MarkRead moves user's read marker in room forward to seq (capped at the
// room's last seq), through the room's Raft log, so every node agrees on
// it. A marker never moves back; a user who is not a member has none. It
// returns the marker's position.
func (n *Node) MarkRead(ctx context.Context, room, user string, seq uint64) (uint64, error) {
	if err := checkUse(room, user); err != nil {
		return 0, fmt.Errorf("read marker: %w", err)
	}
	if seq == 0 {
		return 0, fmt.Errorf("read marker: seq 0: %w", parley.ErrInvalid)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return 0, fmt.Errorf("read marker: %w", err)
	}
	cmd, err := cbor.Marshal(roomCommand{Op: roomOpRead, Room: room, User: user, Seq: seq, TS: time.Now().UnixNano()})
	if err != nil {
		return 0, fmt.Errorf("read marker: encode: %w", err)
	}
	res, err := n.propose(ctx, shard, cmd)
	if err != nil {
		return 0, fmt.Errorf("read marker: %w", err)
	}
	if res.Value == 0 || len(res.Data) != 9 {
		return 0, fmt.Errorf("read marker: rejected by state machine: %s: %w", res.Data, parley.ErrInvalid)
	}
	return binary.BigEndian.Uint64(res.Data[1:]), nil
}

// Members returns the members of room in name order, asked by user. It is
// linearizable, like History: it sees every membership change acknowledged
// before it was called. Only its two participants may list a
// direct-message room (parley.ErrForbidden).
func (n *Node) Members(ctx context.Context, room, user string) ([]string, error) {
	if err := checkUse(room, user); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	if err := n.readBarrierOn(ctx, shard); err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	users, err := readMembers(n.db.db, shard, room)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	return users, nil
}

// readMembers lists room's members from the state db, in key (name) order.
func readMembers(r reader, shard uint64, room string) ([]string, error) {
	p := memberPrefix(shard, room)
	it := r.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	defer it.Close()
	var users []string
	for ok := it.First(); ok; ok = it.Next() {
		users = append(users, string(it.Key()[len(p):]))
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("state db: %w", err)
	}
	return users, nil
}

// RoomSummary is one room of the directory with its size, as this node's
// replicas know it.
type RoomSummary struct {
	Name    string
	Members int
	LastSeq uint64
	// Joined reports whether the user RoomSummaries was asked about is a
	// member.
	Joined bool
	// Unread counts the room's messages after that member's read marker.
	Unread uint64
	// DM marks a direct-message room (see parley.DMRoom).
	DM bool
}

// RoomSummaries lists the rooms of the registry's directory that user may
// use, in name order, with their member counts, their last seqs and whether
// user is a member: every public room and user's own direct-message rooms,
// not other users' (see parley.CheckAccess). It reads the local replicas
// without a read barrier, so it may be a little stale.
func (n *Node) RoomSummaries(user string) ([]RoomSummary, error) {
	if err := parley.ValidateUser(user); err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	recs, err := n.Rooms()
	if err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	out := make([]RoomSummary, 0, len(recs))
	for _, rec := range recs {
		dm := parley.IsDMRoom(rec.Name)
		if dm && parley.CheckAccess(rec.Name, user) != nil {
			continue
		}
		shard, err := n.RoomShard(rec.Name)
		if err != nil {
			return nil, fmt.Errorf("rooms: %w", err)
		}
		var meta roomMeta
		if _, err := getCBOR(n.db.db, metaKey(shard, rec.Name), &meta); err != nil {
			return nil, fmt.Errorf("rooms: %w", err)
		}
		s := RoomSummary{Name: rec.Name, Members: meta.Members, LastSeq: meta.LastSeq, DM: dm}
		var m memberRecord
		if s.Joined, err = getCBOR(n.db.db, memberKey(shard, rec.Name, user), &m); err != nil {
			return nil, fmt.Errorf("rooms: %w", err)
		}
		if s.Joined && meta.LastSeq > m.Read {
			s.Unread = meta.LastSeq - m.Read
		}
		out = append(out, s)
	}
	return out, nil
}
