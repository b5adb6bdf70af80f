package chatcore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley"
)

// The read side for analytics (see package mapreduce): a job fixes each
// room's last seq when it starts (RoomCut) and then reads only messages up
// to that seq (ScanRoom), on any node that holds a replica. Messages are
// never changed once applied, so "seq <= cut" is the same set of messages
// on every replica and at any later time: a consistent cut of the room.

// RoomCut returns room's last seq, read as user (who must be allowed to
// read it, see parley.CheckAccess). It is linearizable: it sees every
// message acknowledged before it was called.
func (n *Node) RoomCut(ctx context.Context, room, user string) (uint64, error) {
	if err := checkUse(room, user); err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return 0, fmt.Errorf("cut %s: %w", room, err)
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

// ScanRoom calls fn, for user, with room's messages from seq from to seq to
// (inclusive), in seq order, from the local replica. If the replica has
// not yet applied seq to, ScanRoom first waits for it (a read barrier). An
// error from fn ends the scan and is returned. It fails with ErrNotHosted
// where the node holds no replica of the room's shard.
func (n *Node) ScanRoom(ctx context.Context, room, user string, from, to uint64, fn func(*parley.Message) error) error {
	if err := checkUse(room, user); err != nil {
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
