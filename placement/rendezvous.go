package placement

import "sort"

// Rendezvous returns the n nodes with the highest random weight for shard
// (highest-random-weight hashing), best first; all of them if n exceeds
// len(nodes). A node joining or leaving changes a shard's ranking only by
// that node: the other nodes keep their relative order.
func Rendezvous(shard uint64, nodes []uint64, n int) []uint64 {
	type scored struct {
		node  uint64
		score uint64
	}
	all := make([]scored, len(nodes))
	for i, node := range nodes {
		all[i] = scored{node: node, score: weight(shard, node)}
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
