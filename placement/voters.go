package placement

import "slices"

// WantedVoters keeps the current voters that are still among nodes and adds
// the best-ranked other nodes by rendezvous hashing until there are want (or
// every node is in). Current voters are never dropped for a better-ranked
// node, so a node joining moves no replica. This is the rule chatcore's
// placement loop applies today.
func WantedVoters(shard uint64, current, nodes []uint64, want int) []uint64 {
	var out []uint64
	for _, v := range current {
		if slices.Contains(nodes, v) {
			out = append(out, v)
		}
	}
	for _, cand := range Rendezvous(shard, nodes, len(nodes)) {
		if len(out) >= want {
			break
		}
		if !slices.Contains(out, cand) {
			out = append(out, cand)
		}
	}
	return out
}
