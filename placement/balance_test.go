package placement

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// loads counts each node's replicas in a placement.
func loads(p map[uint64][]uint64, nodes []uint64) map[uint64]int {
	out := make(map[uint64]int)
	for _, n := range nodes {
		out[n] = 0
	}
	for _, vs := range p {
		for _, v := range vs {
			out[v]++
		}
	}
	return out
}

// stddev is the standard deviation of the loads.
func stddev(l map[uint64]int) float64 {
	sum, sq := 0.0, 0.0
	for _, c := range l {
		sum += float64(c)
	}
	mean := sum / float64(len(l))
	for _, c := range l {
		sq += (float64(c) - mean) * (float64(c) - mean)
	}
	return math.Sqrt(sq / float64(len(l)))
}

// checkBalanced fails unless p gives every shard min(r, N) distinct voters
// among nodes and every node ⌊r·S/N⌋ or ⌈r·S/N⌉ replicas.
func checkBalanced(t *testing.T, p map[uint64][]uint64, shards, nodes []uint64, r int) {
	t.Helper()
	r = min(r, len(nodes))
	if len(p) != len(shards) {
		t.Fatalf("placement has %d shards, want %d", len(p), len(shards))
	}
	for _, s := range shards {
		vs := p[s]
		if len(vs) != r || len(sortedSet(vs)) != r {
			t.Fatalf("shard %d has voters %v, want %d distinct", s, vs, r)
		}
		for _, v := range vs {
			if !slices.Contains(nodes, v) {
				t.Fatalf("shard %d has voter %d, not a live node", s, v)
			}
		}
	}
	total := r * len(shards)
	lo, hi := total/len(nodes), (total+len(nodes)-1)/len(nodes)
	for n, c := range loads(p, nodes) {
		if c < lo || c > hi {
			t.Fatalf("node %d holds %d replicas, want %d..%d (loads %v)", n, c, lo, hi, loads(p, nodes))
		}
	}
}

func TestBalanceFiveNodes(t *testing.T) {
	shards, nodes := RoomShards(16), nodeRange(1, 5)
	plain := make(map[uint64][]uint64)
	for _, s := range shards {
		plain[s] = Rendezvous(s, nodes, 3)
	}
	p, err := Balance(shards, nil, nodes, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, p, shards, nodes, 3)
	ps, bs := stddev(loads(plain, nodes)), stddev(loads(p, nodes))
	t.Logf("16 shards, R=3, 5 nodes: plain rendezvous loads %v (σ %.2f), bounded %v (σ %.2f)",
		loads(plain, nodes), ps, loads(p, nodes), bs)
	// 48 replicas over 5 nodes: three nodes with 10 and two with 9 is the
	// best there is, σ = 0.49.
	if bs > 0.5 {
		t.Errorf("bounded σ = %.2f, want ≤ 0.5", bs)
	}
	again, err := Balance(shards, p, nodes, 3)
	if err != nil {
		t.Fatal(err)
	}
	if n := Moved(p, again); n != 0 {
		t.Errorf("Balance of a balanced placement moved %d replicas, want 0", n)
	}

	// A sixth node joins: it takes 48/6 = 8 replicas and nothing else moves.
	six := nodeRange(1, 6)
	p6, err := Balance(shards, p, six, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, p6, shards, six, 3)
	moved := Moved(p, p6)
	t.Logf("6th node: %d replicas moved, ideal 3·16/6 = 8; loads %v", moved, loads(p6, six))
	if moved != 8 || loads(p6, six)[6] != 8 {
		t.Errorf("6th node: %d replicas moved and it holds %d, want 8 and 8", moved, loads(p6, six)[6])
	}

	// Node 2 leaves the six: only its 8 replicas move.
	five := []uint64{1, 3, 4, 5, 6}
	p5, err := Balance(shards, p6, five, 3)
	if err != nil {
		t.Fatal(err)
	}
	checkBalanced(t, p5, shards, five, 3)
	if moved := Moved(p6, p5); moved != 8 {
		t.Errorf("node 2 left: %d replicas moved, want its 8", moved)
	}
}

func TestBalanceSmallClusters(t *testing.T) {
	tests := []struct {
		shards, nodes, r int
	}{
		{16, 1, 3}, {16, 2, 3}, {16, 3, 3}, {16, 4, 3}, {8, 7, 3}, {8, 9, 5}, {1, 5, 3}, {3, 8, 1}, {16, 5, 7},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("S=%d N=%d R=%d", tt.shards, tt.nodes, tt.r), func(t *testing.T) {
			shards, nodes := RoomShards(tt.shards), nodeRange(1, uint64(tt.nodes))
			p, err := Balance(shards, nil, nodes, tt.r)
			if err != nil {
				t.Fatal(err)
			}
			checkBalanced(t, p, shards, nodes, tt.r)
		})
	}
}

func TestBalanceBadInput(t *testing.T) {
	if _, err := Balance(RoomShards(4), nil, nil, 3); !errors.Is(err, ErrNoNodes) {
		t.Errorf("no nodes: err = %v, want ErrNoNodes", err)
	}
	if _, err := Balance(RoomShards(4), nil, nodeRange(1, 3), 0); !errors.Is(err, ErrReplicas) {
		t.Errorf("R=0: err = %v, want ErrReplicas", err)
	}
}

func TestBalanceDeterministic(t *testing.T) {
	shards, nodes := RoomShards(16), nodeRange(1, 7)
	a, err := Balance(shards, nil, nodes, 3)
	if err != nil {
		t.Fatal(err)
	}
	rs, rn := slices.Clone(shards), slices.Clone(nodes)
	slices.Reverse(rs)
	slices.Reverse(rn)
	b, err := Balance(append(rs, rs[0]), nil, append(rn, rn[1]), 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shards {
		if !slices.Equal(a[s], b[s]) {
			t.Fatalf("shard %d: %v, and %v from the same input in another order", s, a[s], b[s])
		}
	}
}

// TestBalanceCurrentKept: dead voters are replaced, live ones stay, a shard
// with too many voters keeps its best-ranked.
func TestBalanceCurrentKept(t *testing.T) {
	shards, nodes := []uint64{4}, nodeRange(1, 3)
	p, err := Balance(shards, map[uint64][]uint64{4: {9, 2, 2}}, nodes, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(p[4], 2) || len(p[4]) != 2 || slices.Contains(p[4], 9) {
		t.Fatalf("voters %v: want 2 kept, dead 9 replaced, 2 voters", p[4])
	}
	p, err = Balance(shards, map[uint64][]uint64{4: {1, 2, 3}}, nodes, 1)
	if err != nil {
		t.Fatal(err)
	}
	if want := Rendezvous(4, nodes, 1); !slices.Equal(p[4], want) {
		t.Fatalf("R 3→1: voters %v, want the best-ranked %v", p[4], want)
	}
}

// TestBalanceChurn grows and shrinks random clusters one node at a time and
// checks balance and moves at every step: a join moves exactly what the new
// node takes (≤ ⌈R·S/N⌉); a leave moves the leaver's replicas plus at most
// leaveExtra more.
func TestBalanceChurn(t *testing.T) {
	const leaveExtra = 2
	rng := rand.New(rand.NewPCG(1, 2))
	worstExtra, extraLeaves, joins, leaves := 0, 0, 0, 0
	for trial := range 300 {
		S := 1 + rng.IntN(40)
		R := []int{1, 3, 3, 3, 5, 7}[rng.IntN(6)]
		shards := RoomShards(S)
		var nodes []uint64
		next := uint64(1)
		for range 1 + rng.IntN(4) {
			nodes = append(nodes, next)
			next += 1 + uint64(rng.IntN(3))
		}
		p, err := Balance(shards, nil, nodes, R)
		if err != nil {
			t.Fatal(err)
		}
		checkBalanced(t, p, shards, nodes, R)
		for range 12 {
			var after []uint64
			join := len(nodes) < 2 || rng.IntN(3) > 0 && len(nodes) < 12
			var gone uint64
			if join {
				after = append(slices.Clone(nodes), next)
				next++
			} else {
				gone = nodes[rng.IntN(len(nodes))]
				after = slices.DeleteFunc(slices.Clone(nodes), func(n uint64) bool { return n == gone })
			}
			q, err := Balance(shards, p, after, R)
			if err != nil {
				t.Fatal(err)
			}
			checkBalanced(t, q, shards, after, R)
			moved := Moved(p, q)
			desc := fmt.Sprintf("trial %d S=%d R=%d %v→%v", trial, S, R, nodes, after)
			if join {
				joins++
				newLoad := loads(q, after)[after[len(after)-1]]
				if len(nodes) >= R && moved != newLoad {
					t.Fatalf("%s: join moved %d replicas, the new node holds %d", desc, moved, newLoad)
				}
				if limit := (min(R, len(after))*S + len(after) - 1) / len(after); len(nodes) >= R && moved > limit {
					t.Fatalf("%s: join moved %d, want ≤ ⌈R·S/N⌉ = %d", desc, moved, limit)
				}
			} else {
				leaves++
				own := loads(p, nodes)[gone]
				extra := moved - own
				if len(after) < R {
					extra = 0 // every remaining node already holds every shard
				}
				worstExtra = max(worstExtra, extra)
				if extra > 0 {
					extraLeaves++
				}
				if extra > leaveExtra {
					t.Fatalf("%s: leave of %d moved %d, its own %d plus %d, want ≤ %d more", desc, gone, moved, own, extra, leaveExtra)
				}
			}
			p, nodes = q, after
		}
	}
	t.Logf("%d joins, %d leaves; %d leaves moved more than their own replicas, at worst %d more", joins, leaves, extraLeaves, worstExtra)
}
