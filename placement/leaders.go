package placement

import (
	"cmp"
	"slices"
)

// ShardLeader is one shard's leader and voters, as seen now.
type ShardLeader struct {
	// Leader leads the shard; 0 if unknown.
	Leader uint64
	Voters []uint64
}

// Transfer moves the leadership of Shard from From to To.
type Transfer struct {
	Shard, From, To uint64
}

// BalanceLeaders returns the leadership transfers that spread the leaders
// of shards over the live nodes as evenly as their voter sets allow, by as
// few transfers as it finds. Each transfer's target is a live voter of its
// shard. When every node is a voter of enough shards (as Balance's
// placements make them), every node ends with ⌊L/N⌋ or ⌈L/N⌉ leaders, L
// being the number of shards with a live leader and N the live nodes.
// Shards without a live leader are left alone and not counted; Raft elects
// their leader. Transfers come sorted by shard.
//
// It moves leadership along shortest paths from a node with the most
// leaders to one with at least two fewer (a leads shard s where b is a
// voter, b leads t where c is a voter, …), until no such path is left: then
// no sequence of transfers can make the spread more even.
func BalanceLeaders(shards map[uint64]ShardLeader, nodes []uint64) []Transfer {
	live := sortedSet(nodes)
	lead := make(map[uint64]uint64)
	count := make(map[uint64]int)
	for _, n := range live {
		count[n] = 0
	}
	var ids []uint64
	for s, sl := range shards {
		if _, ok := count[sl.Leader]; ok {
			lead[s] = sl.Leader
			count[sl.Leader]++
			ids = append(ids, s)
		}
	}
	slices.Sort(ids)
	for augment(ids, shards, lead, count, live) {
	}
	var out []Transfer
	for _, s := range ids {
		if lead[s] != shards[s].Leader {
			out = append(out, Transfer{Shard: s, From: shards[s].Leader, To: lead[s]})
		}
	}
	return out
}

// BalanceLeadersByLoad is BalanceLeaders over the busy shards and, apart,
// over the others, so that the leaders of the shards that carry the load
// are spread as evenly as all leaders are: with every node a voter of
// enough shards, each node ends with ⌊B/N⌋ or ⌈B/N⌉ of the B busy shards'
// leaders, and as many of the idle ones. Balancing the count of all
// leaders alone can leave one node leading every busy shard. A shard is
// busy when busy says so. Transfers come sorted by shard.
func BalanceLeadersByLoad(shards map[uint64]ShardLeader, busy map[uint64]bool, nodes []uint64) []Transfer {
	hot, cold := make(map[uint64]ShardLeader), make(map[uint64]ShardLeader)
	for s, sl := range shards {
		if busy[s] {
			hot[s] = sl
		} else {
			cold[s] = sl
		}
	}
	out := append(BalanceLeaders(hot, nodes), BalanceLeaders(cold, nodes)...)
	slices.SortFunc(out, func(a, b Transfer) int { return cmp.Compare(a.Shard, b.Shard) })
	return out
}

// augment finds a node u and a path of leadership moves from it to a node v
// with count[v] ≤ count[u]-2, the lowest such v, shortest path, and applies
// it. It reports whether it found one.
func augment(ids []uint64, shards map[uint64]ShardLeader, lead map[uint64]uint64, count map[uint64]int, live []uint64) bool {
	sources := slices.Clone(live)
	slices.SortStableFunc(sources, func(a, b uint64) int { return count[b] - count[a] })
	for _, u := range sources {
		// Breadth-first over "x leads s, y is a live voter of s".
		via := map[uint64]uint64{u: 0} // node → shard whose move reached it
		from := map[uint64]uint64{}    // node → previous node on its path
		queue := []uint64{u}
		best, found := uint64(0), false
		for len(queue) > 0 {
			x := queue[0]
			queue = queue[1:]
			if x != u && count[x] <= count[u]-2 && (!found || count[x] < count[best]) {
				best, found = x, true
			}
			for _, s := range ids {
				if lead[s] != x {
					continue
				}
				for _, y := range sortedSet(shards[s].Voters) {
					if _, seen := via[y]; seen {
						continue
					}
					if _, ok := count[y]; !ok {
						continue
					}
					via[y], from[y] = s, x
					queue = append(queue, y)
				}
			}
		}
		if !found {
			continue
		}
		for y := best; y != u; y = from[y] {
			lead[via[y]] = y
		}
		count[u]--
		count[best]++
		return true
	}
	return false
}
