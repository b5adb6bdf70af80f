package placement

import (
	"encoding/binary"
	"hash/fnv"
)

// hash64 hashes a string: FNV-1a, then mix64. The ring's points and rooms
// are hashed with it; changing it would move existing clusters' rooms.
func hash64(s string) uint64 { return mix64(hashBytes([]byte(s))) }

// weight is the rendezvous weight of node for shard: the hash of the two
// ids, big-endian, 8 bytes each. Changing it would move existing replicas.
func weight(shard, node uint64) uint64 {
	var buf [16]byte
	binary.BigEndian.PutUint64(buf[:8], shard)
	binary.BigEndian.PutUint64(buf[8:], node)
	return mix64(hashBytes(buf[:]))
}

func hashBytes(b []byte) uint64 {
	h := fnv.New64a()
	h.Write(b)
	return h.Sum64()
}

// mix64 is a 64-bit finaliser (from SplitMix64) that spreads FNV's weak low
// bits over the whole word.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
