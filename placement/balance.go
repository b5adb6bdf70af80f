package placement

import (
	"fmt"
	"slices"
)

// Balance returns the voters each of shards should have: r of them (every
// node if there are fewer than r), on distinct nodes among nodes, starting
// from current (each shard's voters now; nil for a new cluster) and moving as
// few replicas as balance allows. It is bounded-load rendezvous hashing:
//
//   - Balance: every node holds ⌊r·S/N⌋ or ⌈r·S/N⌉ replicas (S shards, N
//     nodes). This always holds.
//   - Few moves: current voters on live nodes stay unless their node holds
//     too many. A node joining a balanced placement takes its share, and
//     exactly that many replicas move, each onto the new node. A node
//     leaving moves its own replicas, plus rarely one or two more for
//     balance (see the tests for the bound).
//   - Determinism: the result depends only on the arguments, not on their
//     order, so every registry leader computes the same placement.
//   - Stability: a balanced result is a fixed point; Balance of it is itself.
//
// Load decides first, rendezvous weight breaks ties: a shard short of voters
// takes the least-loaded node, the best-ranked among equals, and a replica
// moved off an overloaded node goes where the receiving node ranks highest.
// Each shard's voters are returned best-ranked first. Current voters not in
// nodes are dropped; shards not in shards are ignored.
func Balance(shards []uint64, current map[uint64][]uint64, nodes []uint64, r int) (map[uint64][]uint64, error) {
	if r < 1 {
		return nil, fmt.Errorf("balance: %d: %w", r, ErrReplicas)
	}
	live := sortedSet(nodes)
	if len(live) == 0 {
		return nil, fmt.Errorf("balance: %w", ErrNoNodes)
	}
	r = min(r, len(live))
	b := balancer{voters: make(map[uint64][]uint64), load: make(map[uint64]int), nodes: live}
	for _, n := range live {
		b.load[n] = 0
	}
	ids := sortedSet(shards)
	for _, s := range ids {
		b.keep(s, current[s], r)
	}
	for _, s := range ids {
		for len(b.voters[s]) < r {
			b.add(s, b.leastLoaded(s))
		}
	}
	for b.moveOne() {
	}
	out := make(map[uint64][]uint64, len(ids))
	for _, s := range ids {
		out[s] = byRank(s, b.voters[s])
	}
	return out, nil
}

// balancer holds Balance's working state.
type balancer struct {
	voters map[uint64][]uint64
	load   map[uint64]int
	nodes  []uint64 // sorted
}

// keep takes shard's current voters that are live, the r best-ranked if
// there are more.
func (b *balancer) keep(shard uint64, current []uint64, r int) {
	var kept []uint64
	for _, v := range current {
		if _, ok := b.load[v]; ok && !slices.Contains(kept, v) {
			kept = append(kept, v)
		}
	}
	kept = byRank(shard, kept)
	for _, v := range kept[:min(r, len(kept))] {
		b.add(shard, v)
	}
}

func (b *balancer) add(shard, node uint64) {
	b.voters[shard] = append(b.voters[shard], node)
	b.load[node]++
}

// leastLoaded returns the node not yet a voter of shard with the lowest
// load, the best-ranked for shard among equals. One exists while shard has
// fewer voters than there are nodes.
func (b *balancer) leastLoaded(shard uint64) uint64 {
	var best uint64
	found := false
	for _, n := range b.nodes {
		if slices.Contains(b.voters[shard], n) {
			continue
		}
		if !found || b.load[n] < b.load[best] || b.load[n] == b.load[best] && ranksAbove(shard, n, best) {
			best, found = n, true
		}
	}
	return best
}

// moveOne moves one replica from a most-loaded node to a least-loaded one if
// their loads differ by two or more, and reports whether it did. Each move
// lowers the sum of squared loads, so the loop ends; when it does, loads
// differ by at most one: each is ⌊r·S/N⌋ or ⌈r·S/N⌉.
func (b *balancer) moveOne() bool {
	most, least := b.nodes[0], b.nodes[0]
	for _, n := range b.nodes {
		if b.load[n] > b.load[most] {
			most = n
		}
		if b.load[n] < b.load[least] {
			least = n
		}
	}
	if b.load[most]-b.load[least] < 2 {
		return false
	}
	// most is a voter of more shards than least, so some shard has most and
	// not least. Take the one where least ranks highest.
	var shard uint64
	found := false
	for s, vs := range b.voters {
		if !slices.Contains(vs, most) || slices.Contains(vs, least) {
			continue
		}
		if !found || weight(s, least) > weight(shard, least) || weight(s, least) == weight(shard, least) && s < shard {
			shard, found = s, true
		}
	}
	vs := b.voters[shard]
	vs[slices.Index(vs, most)] = least
	b.load[most]--
	b.load[least]++
	return true
}

// ranksAbove reports whether node a ranks above node b for shard, in
// Rendezvous's order.
func ranksAbove(shard, a, b uint64) bool {
	wa, wb := weight(shard, a), weight(shard, b)
	if wa != wb {
		return wa > wb
	}
	return a < b
}

// byRank returns nodes sorted best-ranked first for shard.
func byRank(shard uint64, nodes []uint64) []uint64 {
	out := slices.Clone(nodes)
	slices.SortFunc(out, func(a, b uint64) int {
		switch {
		case a == b:
			return 0
		case ranksAbove(shard, a, b):
			return -1
		}
		return 1
	})
	return out
}

// sortedSet returns ids sorted, without duplicates.
func sortedSet(ids []uint64) []uint64 {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

// Moved counts the replicas that differ between two placements: for every
// shard of after, its voters that were not voters of that shard before. It
// is the number of replicas that must be created to go from before to after.
func Moved(before, after map[uint64][]uint64) int {
	moved := 0
	for s, vs := range after {
		for _, v := range vs {
			if !slices.Contains(before[s], v) {
				moved++
			}
		}
	}
	return moved
}
