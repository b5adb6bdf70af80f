package chatcore

import (
	"testing"

	"github.com/lni/dragonboat/v4"
)

func TestRegistryReplicaIDs(t *testing.T) {
	seen := make(map[uint64]bool)
	for _, node := range []uint64{1, 2, 7, 1<<32 - 1} {
		for gen := uint64(0); gen < 4; gen++ {
			id := RegistryReplicaID(node, gen)
			if seen[id] {
				t.Fatalf("replica id %d of node %d generation %d reused", id, node, gen)
			}
			seen[id] = true
			if got := registryNodeOf(id); got != node {
				t.Fatalf("registryNodeOf(%d) = %d, want %d", id, got, node)
			}
		}
		if RegistryReplicaID(node, 0) != node {
			t.Fatalf("generation 0 of node %d is not its node id", node)
		}
	}
}

func TestRegistryWantsVoter(t *testing.T) {
	members := func(ids ...uint64) *dragonboat.Membership {
		m := &dragonboat.Membership{Nodes: make(map[uint64]string)}
		for _, id := range ids {
			m.Nodes[id] = "addr"
		}
		return m
	}
	for _, c := range []struct {
		name   string
		wanted []uint64
		m      *dragonboat.Membership
		want   bool
	}{
		{"every wanted node votes", []uint64{1, 2, 3}, members(1, 2, 3), false},
		{"a dead voter still in, its replacement not yet", []uint64{1, 3, 4}, members(1, 2, 3), true},
		{"replacement promoted, dead voter not yet deleted", []uint64{1, 3, 4}, members(1, 2, 3, 4), false},
		{"a rejoined node's new replica id counts as the node", []uint64{1, 2, 3}, members(1, RegistryReplicaID(2, 1), 3), false},
		{"a wanted node not a member yet", []uint64{1, 2}, members(1), true},
	} {
		if got := registryWantsVoter(Placement{Voters: c.wanted}, c.m); got != c.want {
			t.Errorf("%s: registryWantsVoter = %v, want %v", c.name, got, c.want)
		}
	}
}
