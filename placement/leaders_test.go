package placement

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// applyTransfers checks each transfer against shards and returns every live
// node's leader count after them.
func applyTransfers(t *testing.T, shards map[uint64]ShardLeader, nodes []uint64, ts []Transfer) map[uint64]int {
	t.Helper()
	lead := make(map[uint64]uint64)
	for s, sl := range shards {
		lead[s] = sl.Leader
	}
	seen := make(map[uint64]bool)
	for _, tr := range ts {
		sl, ok := shards[tr.Shard]
		switch {
		case !ok:
			t.Fatalf("transfer %+v: no such shard", tr)
		case seen[tr.Shard]:
			t.Fatalf("transfer %+v: second transfer of the shard", tr)
		case tr.From != sl.Leader:
			t.Fatalf("transfer %+v: leader is %d", tr, sl.Leader)
		case !slices.Contains(sl.Voters, tr.To) || !slices.Contains(nodes, tr.To):
			t.Fatalf("transfer %+v: %d is not a live voter of %v", tr, tr.To, sl.Voters)
		case tr.To == tr.From:
			t.Fatalf("transfer %+v: to itself", tr)
		}
		seen[tr.Shard] = true
		lead[tr.Shard] = tr.To
	}
	count := make(map[uint64]int)
	for _, n := range nodes {
		count[n] = 0
	}
	for _, l := range lead {
		if _, ok := count[l]; ok {
			count[l]++
		}
	}
	return count
}

// placed returns 16 shards with 3 voters each balanced over nodes, every
// shard led by leader(s, voters).
func placed(t *testing.T, nodes []uint64, leader func(s uint64, voters []uint64) uint64) map[uint64]ShardLeader {
	t.Helper()
	p, err := Balance(RoomShards(16), nil, nodes, 3)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[uint64]ShardLeader)
	for s, vs := range p {
		out[s] = ShardLeader{Leader: leader(s, vs), Voters: vs}
	}
	return out
}

func checkEven(t *testing.T, count map[uint64]int, led int) {
	t.Helper()
	lo, hi := led/len(count), (led+len(count)-1)/len(count)
	for n, c := range count {
		if c < lo || c > hi {
			t.Fatalf("node %d leads %d shards, want %d..%d (%v)", n, c, lo, hi, count)
		}
	}
}

// TestBalanceLeadersSkewed: over a balanced placement, the lowest node id
// of every shard leads it (node 1 leads 10 of 16).
func TestBalanceLeadersSkewed(t *testing.T) {
	nodes := nodeRange(1, 5)
	shards := placed(t, nodes, func(_ uint64, vs []uint64) uint64 { return slices.Min(vs) })
	before := applyTransfers(t, shards, nodes, nil)
	ts := BalanceLeaders(shards, nodes)
	after := applyTransfers(t, shards, nodes, ts)
	checkEven(t, after, 16)
	// Lower bound on transfers: every leader over ⌈16/5⌉ = 4 must give away.
	need := 0
	for _, c := range before {
		need += max(0, c-4)
	}
	t.Logf("leaders %v → %v in %d transfers (at least %d needed)", before, after, len(ts), need)
	if len(ts) > need+2 {
		t.Errorf("%d transfers, want about the %d needed", len(ts), need)
	}
	if again := BalanceLeaders(applied(shards, ts), nodes); len(again) != 0 {
		t.Errorf("balanced leaders: %d more transfers %v, want none", len(again), again)
	}
}

// applied returns shards with ts applied.
func applied(shards map[uint64]ShardLeader, ts []Transfer) map[uint64]ShardLeader {
	out := make(map[uint64]ShardLeader)
	for s, sl := range shards {
		out[s] = sl
	}
	for _, tr := range ts {
		sl := out[tr.Shard]
		sl.Leader = tr.To
		out[tr.Shard] = sl
	}
	return out
}

func TestBalanceLeadersTable(t *testing.T) {
	v := func(n ...uint64) []uint64 { return n }
	tests := []struct {
		name   string
		shards map[uint64]ShardLeader
		nodes  []uint64
		want   []Transfer
	}{
		{"already even", map[uint64]ShardLeader{4: {1, v(1, 2)}, 8: {2, v(1, 2)}}, v(1, 2), nil},
		{"one transfer", map[uint64]ShardLeader{4: {1, v(1, 2)}, 8: {1, v(1, 2)}}, v(1, 2), []Transfer{{4, 1, 2}}},
		{"only to a voter", map[uint64]ShardLeader{4: {1, v(1, 2)}, 8: {1, v(1, 3)}, 12: {1, v(1, 3)}}, v(1, 2, 3),
			[]Transfer{{4, 1, 2}, {8, 1, 3}}},
		{"through another node", map[uint64]ShardLeader{
			4: {1, v(1, 2)}, 8: {1, v(1, 2)}, 12: {2, v(2, 3)},
		}, v(1, 2, 3), []Transfer{{4, 1, 2}, {12, 2, 3}}},
		{"not a voter anywhere: as even as possible", map[uint64]ShardLeader{
			4: {1, v(1, 2)}, 8: {1, v(1, 2)}, 12: {1, v(1, 2)}, 16: {1, v(1, 2)},
		}, v(1, 2, 3), []Transfer{{4, 1, 2}, {8, 1, 2}}},
		{"down node not a target", map[uint64]ShardLeader{4: {1, v(1, 2)}, 8: {1, v(1, 2)}}, v(1), nil},
		{"leaderless shard left alone", map[uint64]ShardLeader{4: {0, v(1, 2)}, 8: {2, v(1, 2)}, 12: {9, v(9, 1)}}, v(1, 2), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := BalanceLeaders(tt.shards, tt.nodes)
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("BalanceLeaders = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestBalanceLeadersRandom: random leaders over balanced placements always
// end at ⌊L/N⌋ or ⌈L/N⌉ leaders per node.
func TestBalanceLeadersRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 300 {
		nodes := nodeRange(1, uint64(3+rng.IntN(6)))
		shards := placed(t, nodes, func(_ uint64, vs []uint64) uint64 { return vs[rng.IntN(len(vs))] })
		ts := BalanceLeaders(shards, nodes)
		count := applyTransfers(t, shards, nodes, ts)
		t.Run(fmt.Sprint(trial), func(t *testing.T) { checkEven(t, count, 16) })
	}
}

// TestBalanceLeadersToday is what issue 9 saw on 5 nodes: voters 1, 2, 3 of
// every shard, node 1 leading all 16. Only voters can lead, so the best is
// 5 or 6 each on nodes 1..3.
func TestBalanceLeadersToday(t *testing.T) {
	nodes := nodeRange(1, 5)
	shards := make(map[uint64]ShardLeader)
	for _, s := range RoomShards(16) {
		shards[s] = ShardLeader{Leader: 1, Voters: []uint64{1, 2, 3}}
	}
	ts := BalanceLeaders(shards, nodes)
	count := applyTransfers(t, shards, nodes, ts)
	want := map[uint64]int{1: 6, 2: 5, 3: 5, 4: 0, 5: 0}
	if fmt.Sprint(count) != fmt.Sprint(want) || len(ts) != 10 {
		t.Fatalf("leaders %v in %d transfers, want %v in 10", count, len(ts), want)
	}
}

// TestBalanceLeadersByLoad starts from leader counts that BalanceLeaders
// finds even (6, 5, 5), with 8 busy shards led 4, 2, 2, and 6, 1, 1:
// BalanceLeaders alone moves nothing; by load, the busy shards' leaders
// end 3, 3, 2 in some order, and all leaders stay near even (4 to 7).
func TestBalanceLeadersByLoad(t *testing.T) {
	nodes := []uint64{1, 2, 3}
	ids := RoomShards(16)
	for name, busyOn := range map[string][]uint64{
		"4, 2, 2":         {1, 1, 1, 1, 2, 2, 3, 3},
		"all on one node": {1, 1, 1, 1, 1, 1, 2, 3}, // n1 leads 6: 6 busy, n2 and n3 one each
	} {
		t.Run(name, func(t *testing.T) {
			// Leaders 6, 5, 5; the busy shards are the first led by each
			// node as busyOn lists them.
			leaderOf := make(map[uint64]uint64)
			for i, s := range ids {
				leaderOf[s] = []uint64{1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3}[i]
			}
			shards := make(map[uint64]ShardLeader)
			for _, s := range ids {
				shards[s] = ShardLeader{Leader: leaderOf[s], Voters: nodes}
			}
			busy := make(map[uint64]bool)
			taken := make(map[uint64]int)
			for _, n := range busyOn {
				for _, s := range ids {
					if leaderOf[s] == n && !busy[s] && taken[n] < countOf(busyOn, n) {
						busy[s] = true
						taken[n]++
						break
					}
				}
			}
			if ts := BalanceLeaders(shards, nodes); len(ts) != 0 {
				t.Fatalf("BalanceLeaders moved %v from an even count", ts)
			}
			ts := BalanceLeadersByLoad(shards, busy, nodes)
			if !slices.IsSortedFunc(ts, func(a, b Transfer) int { return int(a.Shard) - int(b.Shard) }) {
				t.Fatalf("transfers not sorted by shard: %v", ts)
			}
			all := applyTransfers(t, shards, nodes, ts)
			hot := make(map[uint64]ShardLeader)
			for s, sl := range shards {
				if busy[s] {
					hot[s] = sl
				}
			}
			var hotTs []Transfer
			for _, tr := range ts {
				if busy[tr.Shard] {
					hotTs = append(hotTs, tr)
				}
			}
			busyCount := applyTransfers(t, hot, nodes, hotTs)
			for _, n := range nodes {
				if busyCount[n] < 2 || busyCount[n] > 3 {
					t.Errorf("node %d leads %d busy shards after %v, want 2 or 3", n, busyCount[n], ts)
				}
				if all[n] < 4 || all[n] > 7 {
					t.Errorf("node %d leads %d shards in all, want about 16/3", n, all[n])
				}
			}
		})
	}
}

func countOf(list []uint64, v uint64) int {
	n := 0
	for _, x := range list {
		if x == v {
			n++
		}
	}
	return n
}
