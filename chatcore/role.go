package chatcore

import (
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble"
)

// localShard is a key prefix for node-local facts that are not replicated.
const localShard uint64 = 0

// roleKey remembers whether the local replica of a shard joined as a
// non-voting member. Dragonboat must restart a replica in the role it joined
// with: it replays the membership changes that followed (a promotion among
// them) from the log and snapshots itself.
func roleKey(shard uint64) []byte {
	return binary.BigEndian.AppendUint64(append(shardPrefix(localShard), 'L'), shard)
}

func (n *Node) setJoinRole(shard uint64, nonVoting bool) error {
	v := []byte{0}
	if nonVoting {
		v[0] = 1
	}
	return n.db.db.Set(roleKey(shard), v, pebble.Sync)
}

func (n *Node) joinRole(shard uint64) (nonVoting bool) {
	v, closer, err := n.db.db.Get(roleKey(shard))
	if errors.Is(err, pebble.ErrNotFound) || err != nil {
		return false
	}
	defer closer.Close()
	return len(v) == 1 && v[0] == 1
}
