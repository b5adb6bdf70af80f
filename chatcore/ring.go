package chatcore

import (
	"encoding/binary"
	"hash/fnv"
	"sort"
	"strconv"
)

// ringVnodes is how many points each shard has on the room ring. More points
// spread rooms more evenly; 64 keeps the ring small for 16 shards.
const ringVnodes = 64

// Ring maps room names to room shards by consistent hashing with virtual
// nodes, so growing the shard count moves only about 1/S of the rooms.
type Ring struct {
	points []ringPoint
}

type ringPoint struct {
	hash  uint64
	shard uint64
}

// NewRing builds the ring over the given shard ids.
func NewRing(shards []uint64) *Ring {
	r := &Ring{points: make([]ringPoint, 0, len(shards)*ringVnodes)}
	for _, s := range shards {
		for v := 0; v < ringVnodes; v++ {
			key := "shard-" + strconv.FormatUint(s, 10) + "-" + strconv.Itoa(v)
			r.points = append(r.points, ringPoint{hash: hash64(key), shard: s})
		}
	}
	sort.Slice(r.points, func(i, j int) bool {
		if r.points[i].hash != r.points[j].hash {
			return r.points[i].hash < r.points[j].hash
		}
		return r.points[i].shard < r.points[j].shard
	})
	return r
}

// Shard returns the shard that holds room. The ring must not be empty.
func (r *Ring) Shard(room string) uint64 {
	h := hash64("room-" + room)
	i := sort.Search(len(r.points), func(i int) bool { return r.points[i].hash >= h })
	if i == len(r.points) {
		i = 0
	}
	return r.points[i].shard
}

// Rendezvous returns the n nodes with the highest random weight for shard
// (highest-random-weight hashing), best first. A node joining or leaving
// moves only the replicas that must move.
func Rendezvous(shard uint64, nodes []uint64, n int) []uint64 {
	type scored struct {
		node  uint64
		score uint64
	}
	all := make([]scored, len(nodes))
	var buf [16]byte
	for i, node := range nodes {
		binary.BigEndian.PutUint64(buf[:8], shard)
		binary.BigEndian.PutUint64(buf[8:], node)
		all[i] = scored{node: node, score: mix64(hashBytes(buf[:]))}
	}
	sort.Slice(all, func(i, j int) bool {
		if all[i].score != all[j].score {
			return all[i].score > all[j].score
		}
		return all[i].node < all[j].node
	})
	if n > len(all) {
		n = len(all)
	}
	out := make([]uint64, n)
	for i := range out {
		out[i] = all[i].node
	}
	return out
}

func hash64(s string) uint64 { return mix64(hashBytes([]byte(s))) }

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
