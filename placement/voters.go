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

// RegistryVoterCount returns how many voters the registry wants in a cluster
// of n live nodes: the largest odd number no greater than n and
// RegistryVoters (1, 1, 3, 3, 5, 5, …). An even count adds a node to every
// quorum without tolerating one more failure, so it is never wanted.
func RegistryVoterCount(n int) int {
	c := min(n, RegistryVoters)
	if c > 0 && c%2 == 0 {
		c--
	}
	return max(c, 0)
}

// WantedRegistryVoters returns the registry's wanted voters over the live
// nodes: RegistryVoterCount(len(nodes)) of them, on distinct nodes, keeping
// the current voters that are live (the best-ranked if there are too many)
// and filling up by rendezvous rank for RegistryShard. Best-ranked first.
func WantedRegistryVoters(current, nodes []uint64) []uint64 {
	live := sortedSet(nodes)
	var kept []uint64
	for _, v := range current {
		if slices.Contains(live, v) && !slices.Contains(kept, v) {
			kept = append(kept, v)
		}
	}
	want := RegistryVoterCount(len(live))
	kept = byRank(RegistryShard, kept)
	kept = kept[:min(want, len(kept))]
	return byRank(RegistryShard, WantedVoters(RegistryShard, kept, live, want))
}
