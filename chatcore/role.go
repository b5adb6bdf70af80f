package chatcore

import (
	"encoding/binary"
	"errors"

	"github.com/cockroachdb/pebble"
)

// localShard is a key prefix for node-local facts that are not replicated.
const localShard uint64 = 0

// roleKey remembers the local replica of a shard: its replica id and
// whether it joined as a non-voting member. Dragonboat must restart a
// replica in the role it joined with: it replays the membership changes
// that followed (a promotion among them) from the log and snapshots itself.
func roleKey(shard uint64) []byte {
	return binary.BigEndian.AppendUint64(append(shardPrefix(localShard), 'L'), shard)
}

func (n *Node) setJoinRole(shard, replica uint64, nonVoting bool) error {
	v := []byte{0}
	if nonVoting {
		v[0] = 1
	}
	v = binary.BigEndian.AppendUint64(v, replica)
	return n.db.db.Set(roleKey(shard), v, pebble.Sync)
}

// joinRole returns the local replica of shard as recorded: its id and join
// role. A record of a single byte predates replica ids: its id is the node
// id, legacy.
func (n *Node) joinRole(shard, legacy uint64) (replica uint64, nonVoting, ok bool) {
	v, closer, err := n.db.db.Get(roleKey(shard))
	if errors.Is(err, pebble.ErrNotFound) || err != nil {
		return 0, false, false
	}
	defer closer.Close()
	switch len(v) {
	case 1:
		return legacy, v[0] == 1, true
	case 9:
		return binary.BigEndian.Uint64(v[1:]), v[0] == 1, true
	}
	return 0, false, false
}

// forgetRole deletes the record of the local replica of shard.
func (n *Node) forgetRole(shard uint64) error {
	return n.db.db.Delete(roleKey(shard), pebble.Sync)
}
