package chatcore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley"
)

// Quota defaults: what ClusterInfo's zero quota fields mean.
const (
	// DefaultMaxRooms bounds the rooms of a cluster (direct-message rooms
	// included).
	DefaultMaxRooms = 20000
	// DefaultRoomsPerHour bounds the rooms one account creates in an hour.
	DefaultRoomsPerHour = 100
	// DefaultMaxMembers bounds the members of one room.
	DefaultMaxMembers = 5000
)

// Quotas are a cluster's limits on rooms and members, kept in its cluster
// settings and chosen at bootstrap; a zero field means its default.
type Quotas struct {
	MaxRooms     int `cbor:"1,keyasint,omitempty"`
	RoomsPerHour int `cbor:"2,keyasint,omitempty"`
	MaxMembers   int `cbor:"3,keyasint,omitempty"`
}

// withDefaults returns q with every zero field at its default.
func (q Quotas) withDefaults() Quotas {
	if q.MaxRooms <= 0 {
		q.MaxRooms = DefaultMaxRooms
	}
	if q.RoomsPerHour <= 0 {
		q.RoomsPerHour = DefaultRoomsPerHour
	}
	if q.MaxMembers <= 0 {
		q.MaxMembers = DefaultMaxMembers
	}
	return q
}

// ErrRoomQuota and ErrRateQuota are why the registry refused a room:
// the cluster holds its most rooms, or the creator made its most rooms
// this hour.
var (
	ErrRoomQuota = fmt.Errorf("quota: rooms per cluster: %w", parley.ErrTooLarge)
	ErrRateQuota = fmt.Errorf("quota: rooms created per account per hour: %w", parley.ErrRateLimited)
)

// Registry results of regOpCreateRoom beyond applied/existed.
const (
	regQuotaRooms uint64 = 3
	regQuotaRate  uint64 = 4
)

// Registry record kinds of the room quotas: the room count, and an index
// of rooms by creator and creation time.
const (
	regRoomCount = 'k'
	regRoomBy    = 'b'
)

// roomCount returns the number of rooms in the registry. A registry from
// before the count was kept is counted once, by a scan (the same on every
// replica, so the state machine stays deterministic).
func roomCount(b *pebble.Batch) (uint64, error) {
	v, closer, err := b.Get(regKey(regRoomCount, ""))
	if err == nil {
		defer closer.Close()
		if len(v) != 8 {
			return 0, fmt.Errorf("registry: room count of %d bytes", len(v))
		}
		return binary.BigEndian.Uint64(v), nil
	}
	if !errors.Is(err, pebble.ErrNotFound) {
		return 0, fmt.Errorf("registry: %w", err)
	}
	p := regPrefix(regRoom)
	it := b.NewIter(&pebble.IterOptions{LowerBound: p, UpperBound: prefixEnd(p)})
	defer it.Close()
	var n uint64
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n, it.Error()
}

func roomByKey(creator string, created int64, room string) []byte {
	k := regKey(regRoomBy, creator+"\x00")
	k = binary.BigEndian.AppendUint64(k, uint64(created))
	return append(k, room...)
}

// checkRoomQuota decides, inside the registry's apply, whether rec may be
// created: regApplied, or the quota result that refuses it.
func checkRoomQuota(b *pebble.Batch, q Quotas, rec *RoomRecord) (uint64, error) {
	q = q.withDefaults()
	n, err := roomCount(b)
	if err != nil {
		return 0, err
	}
	if n >= uint64(q.MaxRooms) {
		return regQuotaRooms, nil
	}
	lo := roomByKey(rec.Creator, max(0, rec.Created-int64(time.Hour)), "")
	it := b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(regKey(regRoomBy, rec.Creator+"\x00"))})
	defer it.Close()
	recent := 0
	for ok := it.First(); ok && recent < q.RoomsPerHour; ok = it.Next() {
		recent++
	}
	if err := it.Error(); err != nil {
		return 0, fmt.Errorf("registry: %w", err)
	}
	if recent >= q.RoomsPerHour {
		return regQuotaRate, nil
	}
	return regApplied, nil
}

// recordRoom counts a created room and indexes it by creator.
func recordRoom(b *pebble.Batch, rec *RoomRecord) error {
	n, err := roomCount(b)
	if err != nil {
		return err
	}
	if err := b.Set(regKey(regRoomCount, ""), binary.BigEndian.AppendUint64(nil, n+1), nil); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	if err := b.Set(roomByKey(rec.Creator, rec.Created, rec.Name), nil, nil); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// quotaError turns a quota result of regOpCreateRoom into an error that
// names the quota and its value.
func quotaError(v uint64, q Quotas, rec *RoomRecord) error {
	q = q.withDefaults()
	switch v {
	case regQuotaRooms:
		return fmt.Errorf("room %q: the cluster holds %d rooms, its limit: %w", rec.Name, q.MaxRooms, ErrRoomQuota)
	case regQuotaRate:
		return fmt.Errorf("room %q: %s created %d rooms in the last hour, the limit per account: %w", rec.Name, rec.Creator, q.RoomsPerHour, ErrRateQuota)
	}
	return nil
}

// checkMemberQuota refuses a join to a room that has its most members, as
// the local replica knows it (a join racing another may pass the limit
// by a few).
func (n *Node) checkMemberQuota(shard uint64, room, user string) error {
	info, found, err := n.clusterInfo()
	if err != nil || !found {
		return err
	}
	q := info.Quotas.withDefaults()
	var meta roomMeta
	if _, err := getCBOR(n.db.db, metaKey(shard, room), &meta); err != nil {
		return err
	}
	if meta.Members < q.MaxMembers {
		return nil
	}
	var m memberRecord
	if member, err := getCBOR(n.db.db, memberKey(shard, room, user), &m); err != nil || member {
		return err
	}
	return fmt.Errorf("quota: members per room: room %q has %d members, the limit: %w", room, q.MaxMembers, parley.ErrTooLarge)
}
