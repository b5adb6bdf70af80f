package placement

import (
	"sort"
	"strconv"
)

// ringVnodes is how many points each shard has on the room ring. More points
// spread rooms more evenly; 64 keeps the ring small for 16 shards.
const ringVnodes = 64

// Ring maps room names to room shards by consistent hashing with virtual
// nodes, so growing the shard count moves only about 1/S of the rooms.
// A Ring is immutable once built and safe for concurrent use.
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
