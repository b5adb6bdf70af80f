package placement

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNextStep(t *testing.T) {
	type m = Membership
	ids := func(n ...uint64) []uint64 { return n }
	tests := []struct {
		name   string
		actual Membership
		wanted []uint64
		down   []uint64
		step   string
	}{
		{"settled", m{Voters: ids(1, 2, 3), Leader: 1}, ids(3, 2, 1), nil, "settled"},
		{"settled without a leader", m{Voters: ids(1, 2, 3)}, ids(1, 2, 3), nil, "settled"},
		{"replace: add first", m{Voters: ids(1, 2, 3), Leader: 1}, ids(1, 2, 4), nil, "add-non-voting 4"},
		{"replace: promote", m{Voters: ids(1, 2, 3), NonVoting: ids(4), Leader: 1}, ids(1, 2, 4), nil, "promote 4"},
		{"replace: remove", m{Voters: ids(1, 2, 3, 4), Leader: 1}, ids(1, 2, 4), nil, "remove 3"},
		{"replace the leader: transfer", m{Voters: ids(1, 2, 3, 4), Leader: 3}, ids(1, 2, 4), nil, "transfer-leader 3→1"},
		{"transfer to the first wanted voter", m{Voters: ids(1, 2, 3, 4), Leader: 3}, ids(4, 2, 1), nil, "transfer-leader 3→4"},
		{"non-leader extra goes first", m{Voters: ids(1, 2, 3, 4, 5), Leader: 1}, ids(2, 3, 4), nil, "remove 5"},
		{"down extra goes first", m{Voters: ids(1, 2, 3, 4, 5), Leader: 5}, ids(2, 3, 4), ids(1), "remove 1"},
		{"grow 1 to 3", m{Voters: ids(1), Leader: 1}, ids(1, 2, 3), nil, "add-non-voting 2"},
		{"grow: one non-voting at a time", m{Voters: ids(1), NonVoting: ids(2), Leader: 1}, ids(1, 2, 3), nil, "promote 2"},
		{"shrink 5 to 3", m{Voters: ids(1, 2, 3, 4, 5), Leader: 1}, ids(1, 2, 3), nil, "remove 4"},
		{"stray non-voting removed first", m{Voters: ids(1, 2, 3), NonVoting: ids(9), Leader: 1}, ids(1, 2, 4), nil, "remove 9"},
		{"stray non-voting of a settled shard", m{Voters: ids(1, 2, 3), NonVoting: ids(9), Leader: 1}, ids(1, 2, 3), nil, "remove 9"},
		{"surplus: remove before promoting", m{Voters: ids(1, 2, 3, 5), NonVoting: ids(4), Leader: 1}, ids(1, 2, 4), nil, "remove 3"},
		{"full replacement starts with one", m{Voters: ids(1, 2, 3), Leader: 2}, ids(4, 5, 6), nil, "add-non-voting 4"},
		{"full replacement removes a non-leader", m{Voters: ids(1, 2, 3, 4), Leader: 2}, ids(4, 5, 6), nil, "remove 1"},
		{"dead voter replaced", m{Voters: ids(1, 2, 3), Leader: 1}, ids(1, 2, 4), ids(3), "add-non-voting 4"},
		{"dead voter removed after promotion", m{Voters: ids(1, 2, 3, 4), Leader: 1}, ids(1, 2, 4), ids(3), "remove 3"},
		{"down missing skipped", m{Voters: ids(1, 2, 3), Leader: 1}, ids(1, 5, 4), ids(5), "add-non-voting 4"},
		{"no leader", m{Voters: ids(1, 2, 3)}, ids(1, 2, 4), nil, "wait: no live leader"},
		{"leader down", m{Voters: ids(1, 2, 3), Leader: 3}, ids(1, 2, 4), ids(3), "wait: no live leader"},
		{"no quorum", m{Voters: ids(1, 2, 3), Leader: 1}, ids(1, 4, 5), ids(2, 3), "wait: 1 of 3 voters live, no quorum"},
		{"non-voting down", m{Voters: ids(1, 2, 3), NonVoting: ids(4), Leader: 1}, ids(1, 2, 4), ids(4), "wait: non-voting 4 is down"},
		{"every missing down", m{Voters: ids(1, 2, 3), Leader: 1}, ids(1, 2, 4), ids(4), "wait: wanted [4] down"},
		{"promotion without live quorum", m{Voters: ids(1, 2), NonVoting: ids(3), Leader: 1}, ids(1, 2, 3), ids(2), "wait: 1 of 2 voters live, no quorum"},
		{"removal without live quorum", m{Voters: ids(1, 2, 3, 4, 5), Leader: 1}, ids(1, 2, 4, 5), ids(2, 4), "wait: removing 3 would leave no live quorum"},
		{"promotion keeps quorum", m{Voters: ids(1, 2, 3), NonVoting: ids(4), Leader: 1}, ids(1, 2, 4), ids(3), "promote 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := NextStep(tt.actual, tt.wanted, tt.down)
			if err != nil {
				t.Fatal(err)
			}
			if step.String() != tt.step {
				t.Fatalf("NextStep(%+v, wanted %v, down %v) = %q, want %q", tt.actual, tt.wanted, tt.down, step, tt.step)
			}
		})
	}
}

func TestNextStepBadInput(t *testing.T) {
	tests := []struct {
		name   string
		actual Membership
		wanted []uint64
	}{
		{"no wanted", Membership{Voters: []uint64{1}}, nil},
		{"duplicate wanted", Membership{Voters: []uint64{1}}, []uint64{2, 2}},
		{"no voters", Membership{}, []uint64{1}},
		{"leader not a voter", Membership{Voters: []uint64{1}, Leader: 2}, []uint64{1}},
		{"voter and non-voting", Membership{Voters: []uint64{1, 2}, NonVoting: []uint64{2}}, []uint64{1}},
		{"node 0", Membership{Voters: []uint64{1}}, []uint64{0}},
	}
	for _, tt := range tests {
		if _, err := NextStep(tt.actual, tt.wanted, nil); !errors.Is(err, ErrMembership) {
			t.Errorf("%s: err = %v, want ErrMembership", tt.name, err)
		}
	}
}

// TestNextStepConverges plays NextStep's steps on random memberships, as a
// placement loop would, and checks every guarantee after every step.
func TestNextStepConverges(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	pick := func(k int, from []uint64) []uint64 {
		p := slices.Clone(from)
		rng.Shuffle(len(p), func(i, j int) { p[i], p[j] = p[j], p[i] })
		return p[:k]
	}
	all := nodeRange(1, 9)
	for trial := range 2000 {
		voters := pick(1+rng.IntN(5), all)
		var learners []uint64
		if rng.IntN(3) == 0 {
			for _, n := range all {
				if !slices.Contains(voters, n) {
					learners = []uint64{n}
					break
				}
			}
		}
		wanted := pick([]int{1, 3, 3, 5}[rng.IntN(4)], all)
		cur := Membership{Voters: voters, NonVoting: learners, Leader: voters[rng.IntN(len(voters))]}
		lo := min(len(voters), len(wanted))
		hi := max(len(voters), len(wanted)+1)
		desc := fmt.Sprintf("trial %d: %+v → %v", trial, cur, wanted)
		var trace []string
		for i := 0; ; i++ {
			if i > 40 {
				t.Fatalf("%s: not settled after 40 steps: %v", desc, trace)
			}
			step, err := NextStep(cur, wanted, nil)
			if err != nil {
				t.Fatalf("%s: %v", desc, err)
			}
			trace = append(trace, step.String())
			if step.Kind == Settled {
				if !slices.Equal(sortedSet(cur.Voters), sortedSet(wanted)) || len(cur.NonVoting) > 0 {
					t.Fatalf("%s: settled at %+v", desc, cur)
				}
				break
			}
			next := Membership{Voters: slices.Clone(cur.Voters), NonVoting: slices.Clone(cur.NonVoting), Leader: cur.Leader}
			switch step.Kind {
			case AddNonVoting:
				if len(cur.NonVoting) > 0 {
					t.Fatalf("%s: %s while %v are non-voting: %v", desc, step, cur.NonVoting, trace)
				}
				next.NonVoting = append(next.NonVoting, step.Node)
			case Promote:
				next.NonVoting = slices.DeleteFunc(next.NonVoting, func(n uint64) bool { return n == step.Node })
				next.Voters = append(next.Voters, step.Node)
			case TransferLeader:
				if step.From != cur.Leader || !slices.Contains(cur.Voters, step.Node) || !slices.Contains(wanted, step.Node) {
					t.Fatalf("%s: %s is not from the leader to a wanted voter: %v", desc, step, trace)
				}
				next.Leader = step.Node
			case Remove:
				if step.Node == cur.Leader {
					t.Fatalf("%s: removes the leader: %v", desc, trace)
				}
				next.Voters = slices.DeleteFunc(next.Voters, func(n uint64) bool { return n == step.Node })
				next.NonVoting = slices.DeleteFunc(next.NonVoting, func(n uint64) bool { return n == step.Node })
			default:
				t.Fatalf("%s: unexpected %s with every node up: %v", desc, step, trace)
			}
			if len(next.Voters) < lo || len(next.Voters) > hi {
				t.Fatalf("%s: %d voters after %s, want %d..%d: %v", desc, len(next.Voters), step, lo, hi, trace)
			}
			cur = next
		}
	}
}
