package placement

import (
	"fmt"
	"math"
	"testing"
)

// roomNames returns count room names of one family (a fmt pattern).
func roomNames(pattern string, count int) []string {
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf(pattern, i)
	}
	return out
}

func TestRingDeterministic(t *testing.T) {
	shards := RoomShards(16)
	reversed := make([]uint64, len(shards))
	for i, s := range shards {
		reversed[len(shards)-1-i] = s
	}
	a, b := NewRing(shards), NewRing(reversed)
	for _, room := range roomNames("room-%d", 2000) {
		sa, sb := a.Shard(room), b.Shard(room)
		if sa != sb {
			t.Fatalf("room %q: shard %d from one ring, %d from the same shards in another order", room, sa, sb)
		}
		if sa != a.Shard(room) {
			t.Fatalf("room %q: two answers from one ring", room)
		}
		if !IsRoomShard(sa) {
			t.Fatalf("room %q: shard %d is not a room shard", room, sa)
		}
	}
}

// maxSpread is the largest deviation from the mean, as a fraction, of the
// number of rooms a shard gets on the ring. 64 virtual nodes per shard leave
// each shard's share of the ring uneven by about ±1/√64; over 16 shards the
// worst measured was 45% (names "%08x"), 35% for "room-%d". The bound is a
// property of the hash and cannot be tightened without moving rooms.
const maxSpread = 0.50

func TestRingSpread(t *testing.T) {
	families := []string{"room-%d", "u%d", "dm:alice:user%d", "%08x"}
	for _, shards := range []int{4, 8, 16, 32} {
		for _, family := range families {
			t.Run(fmt.Sprintf("%d shards %s", shards, family), func(t *testing.T) {
				r := NewRing(RoomShards(shards))
				count := make(map[uint64]int)
				rooms := roomNames(family, 10000)
				for _, room := range rooms {
					count[r.Shard(room)]++
				}
				if len(count) != shards {
					t.Fatalf("rooms fell on %d shards, want all %d", len(count), shards)
				}
				mean := float64(len(rooms)) / float64(shards)
				worst := 0.0
				for _, c := range count {
					worst = math.Max(worst, math.Abs(float64(c)-mean)/mean)
				}
				t.Logf("worst shard %.1f%% off the mean of %.0f rooms", 100*worst, mean)
				if worst > maxSpread {
					t.Errorf("a shard is %.1f%% off the mean, want within %.0f%%", 100*worst, 100*maxSpread)
				}
			})
		}
	}
}

// TestRingGrowth checks consistent hashing's promise: adding a shard moves
// rooms only onto the new shard, and about 1/S of them.
func TestRingGrowth(t *testing.T) {
	for _, from := range []int{4, 8, 16} {
		a, b := NewRing(RoomShards(from)), NewRing(RoomShards(from+1))
		added := RoomShards(from + 1)[from]
		rooms := roomNames("room-%d", 10000)
		moved := 0
		for _, room := range rooms {
			sa, sb := a.Shard(room), b.Shard(room)
			if sa == sb {
				continue
			}
			moved++
			if sb != added {
				t.Fatalf("%d→%d shards: room %q moved from %d to %d, not to the new shard %d", from, from+1, room, sa, sb, added)
			}
		}
		ideal := len(rooms) / (from + 1)
		t.Logf("%d→%d shards: %d of %d rooms moved (ideal %d)", from, from+1, moved, len(rooms), ideal)
		if moved == 0 || moved > 2*ideal {
			t.Errorf("%d→%d shards: %d rooms moved, want 1..%d (twice the ideal)", from, from+1, moved, 2*ideal)
		}
	}
}

func TestRoomShards(t *testing.T) {
	got := RoomShards(4)
	want := []uint64{4, 8, 12, 16}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("RoomShards(4) = %v, want %v", got, want)
	}
	if len(RoomShards(0)) != 0 {
		t.Fatalf("RoomShards(0) = %v, want none", RoomShards(0))
	}
	for _, tt := range []struct {
		shard uint64
		room  bool
	}{{0, false}, {RegistryShard, false}, {2, false}, {4, true}, {64, true}, {66, false}} {
		if got := IsRoomShard(tt.shard); got != tt.room {
			t.Errorf("IsRoomShard(%d) = %v, want %v", tt.shard, got, tt.room)
		}
	}
}
