package placement

import (
	"slices"
	"testing"
)

// TestWantedVoters pins the rule chatcore's placement loop applies today.
// Rendezvous ranks shard 4 over nodes 1..7 as 1, 2, 7, 6, 5, 4, 3.
func TestWantedVoters(t *testing.T) {
	tests := []struct {
		name    string
		current []uint64
		nodes   []uint64
		want    int
		out     []uint64
	}{
		{"empty cluster", nil, nil, 3, nil},
		{"one node", nil, []uint64{1}, 3, []uint64{1}},
		{"fresh, best ranked", nil, nodeRange(1, 7), 3, []uint64{1, 2, 7}},
		{"keeps current first", []uint64{3, 4}, nodeRange(1, 7), 3, []uint64{3, 4, 1}},
		{"drops unregistered", []uint64{9, 2}, nodeRange(1, 5), 3, []uint64{2, 1, 5}},
		{"joining node moves nothing", []uint64{3, 4, 5}, nodeRange(1, 7), 3, []uint64{3, 4, 5}},
		{"never trims above want", []uint64{3, 4, 5, 6}, nodeRange(1, 7), 3, []uint64{3, 4, 5, 6}},
		{"fewer nodes than want", []uint64{2}, nodeRange(1, 2), 3, []uint64{2, 1}},
		{"registry wants 5", nil, nodeRange(1, 7), RegistryVoters, Rendezvous(4, nodeRange(1, 7), 5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WantedVoters(4, tt.current, tt.nodes, tt.want)
			if !slices.Equal(got, tt.out) {
				t.Fatalf("WantedVoters(4, %v, %v, %d) = %v, want %v", tt.current, tt.nodes, tt.want, got, tt.out)
			}
		})
	}
}

func TestRegistryVoterCount(t *testing.T) {
	for n, want := range []int{0, 1, 1, 3, 3, 5, 5, 5, 5} {
		if got := RegistryVoterCount(n); got != want {
			t.Errorf("RegistryVoterCount(%d) = %d, want %d", n, got, want)
		}
	}
}

// Rendezvous ranks the registry shard over nodes 1..7 as 7, 1, 6, 3, 4, 2, 5.
func TestWantedRegistryVoters(t *testing.T) {
	tests := []struct {
		name           string
		current, nodes []uint64
		want           []uint64
	}{
		{"no nodes", nil, nil, nil},
		{"first node", nil, []uint64{1}, []uint64{1}},
		{"two nodes keep one voter", []uint64{1}, []uint64{1, 2}, []uint64{1}},
		{"three nodes", []uint64{2}, nodeRange(1, 3), []uint64{1, 3, 2}},
		{"four nodes stay at three", []uint64{1, 2, 3}, nodeRange(1, 4), []uint64{1, 3, 2}},
		{"seven nodes, best ranked", nil, nodeRange(1, 7), []uint64{7, 1, 6, 3, 4}},
		{"current kept over better ranked", []uint64{2, 5}, nodeRange(1, 7), []uint64{7, 1, 6, 2, 5}},
		{"dead voter replaced", []uint64{7, 1, 6, 3, 4}, []uint64{1, 2, 3, 4, 5, 6}, []uint64{1, 6, 3, 4, 2}},
		{"shrinks to odd, keeps best ranked", []uint64{7, 1, 6, 3, 4}, []uint64{1, 3, 4, 7}, []uint64{7, 1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := WantedRegistryVoters(tt.current, tt.nodes)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("WantedRegistryVoters(%v, %v) = %v, want %v", tt.current, tt.nodes, got, tt.want)
			}
		})
	}
}
