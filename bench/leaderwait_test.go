package bench

import (
	"strings"
	"testing"

	"github.com/parleychat/parley/placement"
)

// TestLeadersBalanced checks the wait's condition: every busy shard led
// by a live node, and no transfer left that would even the leaders out.
func TestLeadersBalanced(t *testing.T) {
	live := []uint64{1, 2, 3}
	all := []uint64{1, 2, 3}
	shards := func(leaders ...uint64) map[uint64]placement.ShardLeader {
		out := make(map[uint64]placement.ShardLeader)
		for i, l := range leaders {
			out[uint64(4*(i+1))] = placement.ShardLeader{Leader: l, Voters: all}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		leaders []uint64
		ok      bool
	}{
		{"fresh cluster: all on node 1", []uint64{1, 1, 1, 1, 1, 1, 1, 1}, false},
		{"3/3/2", []uint64{1, 2, 3, 1, 2, 3, 1, 2}, true},
		{"4/2/2: one node above ceil(8/3)", []uint64{1, 1, 1, 1, 2, 2, 3, 3}, false},
		{"a shard without a leader", []uint64{1, 2, 3, 0}, false},
		{"a leader that is not live", []uint64{1, 2, 3, 9}, false},
	} {
		err := leadersBalanced(shards(tc.leaders...), live)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want balanced=%v", tc.name, err, tc.ok)
		}
	}
	if leadersBalanced(nil, live) == nil {
		t.Error("no busy shard counted as balanced")
	}
	// A shard whose voters are elsewhere cannot move to node 3: 2/0 over
	// nodes 1 and 2 with node 3 no voter of either is still uneven, but
	// 1/1 is as even as the voters allow.
	two := map[uint64]placement.ShardLeader{
		4: {Leader: 1, Voters: []uint64{1, 2}},
		8: {Leader: 2, Voters: []uint64{1, 2}},
	}
	if err := leadersBalanced(two, live); err != nil {
		t.Errorf("1/1 with node 3 a voter of neither: %v", err)
	}
}

func TestLeaderWaitNote(t *testing.T) {
	var none *LeaderWait
	if none.note() != "" {
		t.Error("a run without a wait has a note")
	}
	ok := &LeaderWait{Balanced: true, WaitS: 12.34, Before: map[string]int{"n1": 8}, After: map[string]int{"n1": 3, "n2": 3, "n3": 2}}
	if got, want := ok.note(), "leaders balanced before the load after 12.3s (n1 8 → n1 3, n2 3, n3 2)"; got != want {
		t.Errorf("note %q, want %q", got, want)
	}
	bad := &LeaderWait{WaitS: 30.02, Before: map[string]int{"n1": 8}, After: map[string]int{"n1": 6, "n2": 2}, Error: "2 leadership transfer(s) would even them out"}
	if got := bad.note(); !strings.Contains(got, "NOT balanced after a 30s wait (n1 8 → n1 6, n2 2; all room shards unknown), measured anyway: 2 leadership") {
		t.Errorf("note %q", got)
	}
}
