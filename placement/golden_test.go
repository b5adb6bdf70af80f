package placement

import (
	"fmt"
	"hash/fnv"
	"slices"
	"testing"
)

// The values below were computed with chatcore's ring and rendezvous code
// before it moved here (commit d4e4840). Existing clusters keep their rooms
// on the same shards and their replicas on the same nodes only while these
// hold: never change them to make a test pass.

func TestRingGolden(t *testing.T) {
	r16 := NewRing(RoomShards(16))
	r8 := NewRing(RoomShards(8))
	tests := []struct {
		ring  *Ring
		room  string
		shard uint64
	}{
		{r16, "general", 60},
		{r16, "random", 36},
		{r16, "dm:alice:bob", 60},
		{r16, "room-0", 20},
		{r16, "room-1", 20},
		{r16, "x", 44},
		{r16, "", 48},
		{r8, "general", 24},
		{r8, "random", 20},
		{r8, "bench-7", 28},
	}
	for _, tt := range tests {
		if got := tt.ring.Shard(tt.room); got != tt.shard {
			t.Errorf("Shard(%q) over %d shards = %d, want %d", tt.room, len(tt.ring.points)/ringVnodes, got, tt.shard)
		}
	}
}

// TestRingGoldenDigest pins where 10,000 rooms fall on 16 shards, all at once.
func TestRingGoldenDigest(t *testing.T) {
	r := NewRing(RoomShards(16))
	h := fnv.New64a()
	for i := range 10000 {
		fmt.Fprintf(h, "%d,", r.Shard(fmt.Sprintf("room-%d", i)))
	}
	if got, want := h.Sum64(), uint64(0xb8823bae5d5cea24); got != want {
		t.Fatalf("ring digest = %#x, want %#x: rooms of existing clusters would move", got, want)
	}
}

func TestRendezvousGolden(t *testing.T) {
	nodes := []uint64{1, 2, 3, 4, 5, 6, 7}
	tests := []struct {
		shard uint64
		want  []uint64
	}{
		{1, []uint64{7, 1, 6, 3, 4, 2, 5}},
		{4, []uint64{1, 2, 7, 6, 5, 4, 3}},
		{8, []uint64{4, 1, 6, 2, 7, 5, 3}},
		{64, []uint64{1, 2, 7, 5, 3, 6, 4}},
	}
	for _, tt := range tests {
		if got := Rendezvous(tt.shard, nodes, len(nodes)); !slices.Equal(got, tt.want) {
			t.Errorf("Rendezvous(%d) = %v, want %v", tt.shard, got, tt.want)
		}
	}
}

// TestRendezvousGoldenDigest pins the full ranking of 10 nodes for shards
// 1..256.
func TestRendezvousGoldenDigest(t *testing.T) {
	nodes := []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	h := fnv.New64a()
	for s := uint64(1); s <= 256; s++ {
		fmt.Fprintf(h, "%v;", Rendezvous(s, nodes, len(nodes)))
	}
	if got, want := h.Sum64(), uint64(0x50d0bb1470695c6b); got != want {
		t.Fatalf("rendezvous digest = %#x, want %#x: replicas of existing clusters would move", got, want)
	}
}
