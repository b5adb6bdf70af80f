package chatcore

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
)

// MaxHistory is the most messages one History call returns, and
// maxHistoryBytes about the most text: a reply must fit one 1 MiB frame.
const (
	MaxHistory      = 1000
	maxHistoryBytes = 512 << 10
)

// HistoryQuery selects messages of a room: the last Last ones if Last > 0,
// else up to Limit (default and cap MaxHistory) from seq From (default 1).
type HistoryQuery struct {
	From  uint64
	Limit int
	Last  int
}

// History returns messages of room, read as user, in seq order and the
// room's last seq. It is linearizable: it sees every message acknowledged
// before it was called. Only its two participants may read a
// direct-message room (parley.ErrForbidden, see parley.CheckAccess).
func (n *Node) History(ctx context.Context, room, user string, q HistoryQuery) ([]parley.Message, uint64, error) {
	if err := checkUse(room, user); err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	shard, err := n.RoomShard(room)
	if err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	if err := n.readBarrierOn(ctx, shard); err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	var meta roomMeta
	if _, err := getCBOR(n.db.db, metaKey(shard, room), &meta); err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	limit := q.Limit
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	from := max(q.From, 1)
	if q.Last > 0 {
		last := min(q.Last, MaxHistory)
		from, limit = 1, last
		if meta.LastSeq > uint64(last) {
			from = meta.LastSeq - uint64(last) + 1
		}
	}
	if from > meta.LastSeq {
		return nil, meta.LastSeq, nil
	}
	to := min(meta.LastSeq, from+uint64(limit)-1)
	msgs, err := readMessages(n.db.db, shard, room, from, to)
	if err != nil {
		return nil, 0, fmt.Errorf("history: %w", err)
	}
	return trimToBytes(msgs, q.Last > 0), meta.LastSeq, nil
}

// trimToBytes keeps about maxHistoryBytes of msgs: the newest ones for a
// "last N" query, the oldest for a query from a seq. The caller pages for
// the rest. At least one message is always kept.
func trimToBytes(msgs []parley.Message, keepNewest bool) []parley.Message {
	size := func(m parley.Message) int { return len(m.Text) + len(m.User) + len(m.Room) + 48 }
	total := 0
	if keepNewest {
		for i := len(msgs) - 1; i >= 0; i-- {
			if total += size(msgs[i]); total > maxHistoryBytes && i < len(msgs)-1 {
				return msgs[i+1:]
			}
		}
		return msgs
	}
	for i, m := range msgs {
		if total += size(m); total > maxHistoryBytes && i > 0 {
			return msgs[:i]
		}
	}
	return msgs
}

// readMessages reads seqs from..to (inclusive) of room from the state db.
func readMessages(r reader, shard uint64, room string, from, to uint64) ([]parley.Message, error) {
	it := r.NewIter(&pebble.IterOptions{
		LowerBound: msgKey(shard, room, from),
		UpperBound: msgKey(shard, room, to+1),
	})
	defer it.Close()
	out := make([]parley.Message, 0, to-from+1)
	plen := len(msgPrefix(shard, room))
	for ok := it.First(); ok; ok = it.Next() {
		var sm storedMsg
		if err := cbor.Unmarshal(it.Value(), &sm); err != nil {
			return nil, fmt.Errorf("state db: message: %w", err)
		}
		seq := binary.BigEndian.Uint64(it.Key()[plen:])
		out = append(out, parley.Message{Room: room, Seq: seq, ID: sm.ID, User: sm.User, TS: parley.UnixTime(sm.TS), Text: sm.Text, Kind: sm.Kind})
	}
	if err := it.Error(); err != nil {
		return nil, fmt.Errorf("state db: %w", err)
	}
	return out, nil
}
