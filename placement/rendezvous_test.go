package placement

import (
	"slices"
	"testing"
)

func nodeRange(from, to uint64) []uint64 {
	var out []uint64
	for n := from; n <= to; n++ {
		out = append(out, n)
	}
	return out
}

func TestRendezvousDeterministic(t *testing.T) {
	nodes := nodeRange(1, 9)
	shuffled := []uint64{5, 9, 1, 3, 8, 2, 7, 4, 6}
	for _, s := range RoomShards(32) {
		a, b := Rendezvous(s, nodes, 3), Rendezvous(s, shuffled, 3)
		if !slices.Equal(a, b) {
			t.Fatalf("shard %d: %v for nodes in order, %v shuffled", s, a, b)
		}
	}
}

func TestRendezvousCount(t *testing.T) {
	nodes := nodeRange(1, 5)
	for _, tt := range []struct{ n, want int }{{0, 0}, {1, 1}, {3, 3}, {5, 5}, {9, 5}} {
		got := Rendezvous(8, nodes, tt.n)
		if len(got) != tt.want {
			t.Errorf("Rendezvous(n=%d) = %v, want %d nodes", tt.n, got, tt.want)
		}
		if len(got) > 0 && !slices.Equal(got, Rendezvous(8, nodes, len(nodes))[:len(got)]) {
			t.Errorf("Rendezvous(n=%d) = %v is not a prefix of the full ranking", tt.n, got)
		}
	}
	if got := Rendezvous(8, nil, 3); len(got) != 0 {
		t.Errorf("Rendezvous over no nodes = %v, want none", got)
	}
}

// TestRendezvousAddNode checks that adding a node changes each shard's
// ranking only by inserting that node: the others keep their order, so a
// shard's top R changes exactly when the new node enters it, and then by
// exactly that node.
func TestRendezvousAddNode(t *testing.T) {
	const r = 3
	for _, n := range []uint64{3, 5, 8} {
		before := nodeRange(1, n)
		after := nodeRange(1, n+1)
		changed := 0
		for _, s := range RoomShards(64) {
			old, cur := Rendezvous(s, before, len(before)), Rendezvous(s, after, len(after))
			without := slices.DeleteFunc(slices.Clone(cur), func(x uint64) bool { return x == n+1 })
			if !slices.Equal(without, old) {
				t.Fatalf("shard %d: ranking %v became %v: more than the new node changed", s, old, cur)
			}
			oldTop, curTop := old[:r], cur[:r]
			if slices.Equal(oldTop, curTop) {
				if slices.Contains(curTop, n+1) {
					t.Fatalf("shard %d: impossible: new node in an unchanged top", s)
				}
				continue
			}
			changed++
			if !slices.Contains(curTop, n+1) {
				t.Fatalf("shard %d: top %d changed from %v to %v without the new node", s, r, oldTop, curTop)
			}
			left := slices.DeleteFunc(slices.Clone(oldTop), func(x uint64) bool { return slices.Contains(curTop, x) })
			if len(left) != 1 {
				t.Fatalf("shard %d: top %v became %v: %d nodes left, want 1", s, oldTop, curTop, len(left))
			}
		}
		t.Logf("%d→%d nodes: top %d changed on %d of 64 shards (expected about 64·%d/%d = %d)", n, n+1, r, changed, r, n+1, 64*r/int(n+1))
	}
}
