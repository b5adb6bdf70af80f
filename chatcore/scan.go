package chatcore

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley"
)

// The read side for analytics (see package mapreduce): a job fixes each
// room's last seq when it starts (RoomCut) and then reads only messages up
// to that seq (ScanRoom), on any node that holds a replica. Messages are
// never changed once applied, so "seq <= cut" is the same set of messages
// on every replica and at any later time: a consistent cut of the room.

// Reader is who reads a room for analytics: a user, who may read only the
// rooms parley.CheckAccess allows, or, with Everything set, an
// administrator's cluster-wide job, which reads every room, other people's
// direct messages included. Only a caller that has checked IsAdmin for
// User may set Everything.
type Reader struct {
	User       string
	Everything bool
}

// check refuses a room r may not read.
func (r Reader) check(room string) error {
	if !r.Everything {
		return checkUse(room, r.User)
	}
	if err := parley.ValidateRoom(room); err != nil {
		return err
	}
	return parley.ValidateUser(r.User)
}

// RoomCut returns room's last seq, read by r. It is linearizable: it sees
// every message acknowledged before it was called. It fails with
// ErrNotHosted where the node holds no replica of the room's shard.
func (n *Node) RoomCut(ctx context.Context, room string, r Reader) (uint64, error) {
	if err := r.check(room); err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	if !n.isHosted(shard) {
		return 0, fmt.Errorf("cut %s: shard %d: %w", room, shard, ErrNotHosted)
	}
	if err := n.readBarrierOn(ctx, shard); err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	var meta roomMeta
	if _, err := getCBOR(n.db.db, metaKey(shard, room), &meta); err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	return meta.LastSeq, nil
}

// ScanRoom calls fn, for r, with room's messages from seq from to seq to
// (inclusive), in seq order, from the local replica. If the replica has
// not yet applied seq to, ScanRoom first waits for it (a read barrier). An
// error from fn ends the scan and is returned. It fails with ErrNotHosted
// where the node holds no replica of the room's shard.
func (n *Node) ScanRoom(ctx context.Context, room string, r Reader, from, to uint64, fn func(*parley.Message) error) error {
	if err := r.check(room); err != nil {
		return fmt.Errorf("scan %s: %w", room, err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return fmt.Errorf("scan %s: %w", room, err)
	}
	if !n.isHosted(shard) {
		return fmt.Errorf("scan %s: shard %d: %w", room, shard, ErrNotHosted)
	}
	from = max(from, 1)
	if to < from {
		return nil
	}
	var meta roomMeta
	if _, err := getCBOR(n.db.db, metaKey(shard, room), &meta); err != nil {
		return fmt.Errorf("scan %s: %w", room, err)
	}
	if meta.LastSeq < to {
		if err := n.readBarrierOn(ctx, shard); err != nil {
			return fmt.Errorf("scan %s: %w", room, err)
		}
	}
	snap := n.db.db.NewSnapshot()
	defer snap.Close()
	it := snap.NewIter(&pebble.IterOptions{
		LowerBound: msgKey(shard, room, from),
		UpperBound: msgKey(shard, room, to+1),
	})
	defer it.Close()
	plen := len(msgPrefix(shard, room))
	var sm storedMsg
	for ok := it.First(); ok; ok = it.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		sm = storedMsg{}
		if err := cbor.Unmarshal(it.Value(), &sm); err != nil {
			return fmt.Errorf("scan %s: message: %w", room, err)
		}
		m := parley.Message{Room: room, Seq: binary.BigEndian.Uint64(it.Key()[plen:]), ID: sm.ID, User: sm.User, TS: parley.UnixTime(sm.TS), Text: sm.Text, Kind: sm.Kind}
		if err := fn(&m); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return fmt.Errorf("scan %s: state db: %w", room, err)
	}
	return nil
}

// ShardVoters returns the nodes that hold a voting replica of shard, by
// the registry: where an analytics map task over the shard can read it
// locally.
func (n *Node) ShardVoters(shard uint64) ([]uint64, error) {
	p, err := n.placement(shard)
	if err != nil {
		return nil, fmt.Errorf("shard %d: %w", shard, err)
	}
	return slices.Sorted(slices.Values(p.Voters)), nil
}
