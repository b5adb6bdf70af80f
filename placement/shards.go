package placement

// RegistryShard is the Raft group of the registry: the directory of nodes,
// placement, rooms, accounts, cluster settings and the cluster CA. Room
// shards have the ids RoomShards returns.
const RegistryShard uint64 = 1

// Cluster-wide placement defaults.
const (
	// DefaultShards is the number of room shards of a cluster unless told
	// otherwise (parleyd --shards).
	DefaultShards = 16
	// SmallShards is the number of room shards of a cluster made of small,
	// memory-bound nodes (chatcore's small profile): every shard costs each
	// node that hosts it some MiB whatever its traffic.
	SmallShards = 8
	// DefaultReplication is the number of voting replicas per room shard.
	DefaultReplication = 3
	// RegistryVoters is the largest number of voting replicas of the
	// registry.
	RegistryVoters = 5
)

// roomShardStride spaces room shard ids. dragonboat opens four TCP streams to
// each peer and sends a shard's messages on stream (shard id mod 4); every
// stream batches and writes on its own. With ids 4, 8, 12, … all room shards
// share one stream per peer, so the messages one engine step produces for a
// peer, across all shards, leave in one batch and one write, and the peer
// reads them in one go. On two cores this alone raised raw dragonboat
// throughput over 10 busy shards by about a fifth (see README, Performance).
const roomShardStride = 4

// RoomShards returns the ids of a cluster's count room shards, in order:
// 4, 8, 12, …
func RoomShards(count int) []uint64 {
	out := make([]uint64, count)
	for i := range out {
		out[i] = roomShardStride * uint64(i+1)
	}
	return out
}

// IsRoomShard reports whether shard is one of the ids RoomShards may return.
func IsRoomShard(shard uint64) bool {
	return shard != 0 && shard%roomShardStride == 0
}
