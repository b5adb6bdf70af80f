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
