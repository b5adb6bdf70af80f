package chatcore

import (
	"github.com/cockroachdb/pebble"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// roomShard applies a room shard's entries and hands new messages to the
// node's hub once they are in the state db.
type roomShard struct {
	roomApplier
	hub *hub
}

func (r *roomShard) applyEntries(b *pebble.Batch, entries []sm.Entry) (func(), error) {
	var fresh []*Message
	for i := range entries {
		res, err := r.apply(b, entries[i].Index, entries[i].Cmd)
		if err != nil {
			return nil, err
		}
		entries[i].Result.Value, entries[i].Result.Data = encodeResult(res)
		if res.msg != nil {
			fresh = append(fresh, res.msg)
		}
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	return func() { r.hub.publish(fresh) }, nil
}

func (r *roomShard) recovered() { r.hub.reload(r.shard) }
