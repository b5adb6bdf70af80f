package placement

import (
	"fmt"
	"slices"
)

// Membership is a shard's actual Raft membership, as its leader reports it.
type Membership struct {
	// Voters and NonVoting are the members' node ids.
	Voters    []uint64
	NonVoting []uint64
	// Leader is the node that leads the shard, 0 if unknown.
	Leader uint64
}

// StepKind names what NextStep asks for.
type StepKind int

// The steps of a move, in the order a replaced voter goes through them.
const (
	// Settled: the voters are the wanted ones and there is no non-voting
	// member. Nothing to do.
	Settled StepKind = iota
	// Wait: a step is due but not safe now (Step.Reason says why). Ask
	// again once the membership or liveness changed.
	Wait
	// AddNonVoting: add Step.Node as a non-voting member so it catches up.
	AddNonVoting
	// Promote: once the non-voting Step.Node has caught up with the leader,
	// make it a voter.
	Promote
	// TransferLeader: move leadership from Step.From to Step.Node, so the
	// leader is not the voter about to be removed.
	TransferLeader
	// Remove: remove Step.Node, a voter or a non-voting member.
	Remove
)

var stepNames = [...]string{"settled", "wait", "add-non-voting", "promote", "transfer-leader", "remove"}

// String returns the kind's name.
func (k StepKind) String() string {
	if k < 0 || int(k) >= len(stepNames) {
		return fmt.Sprintf("step(%d)", int(k))
	}
	return stepNames[k]
}

// Step is one membership change of a shard: the next one NextStep found.
type Step struct {
	Kind StepKind
	// Node is the node added, promoted, removed, or the new leader.
	Node uint64
	// From is the current leader, for TransferLeader.
	From uint64
	// Reason says why, for Wait.
	Reason string
}

// String renders the step as "add-non-voting 4", "transfer-leader 1→4",
// "wait: no leader".
func (s Step) String() string {
	switch s.Kind {
	case Settled:
		return s.Kind.String()
	case Wait:
		return "wait: " + s.Reason
	case TransferLeader:
		return fmt.Sprintf("%s %d→%d", s.Kind, s.From, s.Node)
	}
	return fmt.Sprintf("%s %d", s.Kind, s.Node)
}

// NextStep returns the one next membership change that takes a shard from
// its actual membership towards the wanted voters, given the nodes known to
// be down. Applying the steps it returns one at a time, re-reading the
// membership after each (and guarding each change with the membership's
// config-change id), reaches the wanted voters. The steps keep these
// guarantees:
//
//   - One member change at a time: each step changes one member, and no new
//     member is added while another is non-voting.
//   - A replaced voter is added first (non-voting, then promoted) and
//     removed after, so the shard never has fewer voters than it started
//     with or than are wanted, and never more than one above both.
//   - The leader is never removed: leadership moves first, to a live
//     wanted voter.
//   - Never below quorum: no step is taken unless a quorum of the current
//     voters is live, and none leaves fewer live voters than a quorum; down
//     voters are removed before live ones.
//   - Nothing happens without a known, live leader.
//
// The order of steps: remove a non-voting member that is not wanted; promote
// one that is; add a missing wanted voter while the shard has no more voters
// than wanted; otherwise remove a voter that is not wanted (moving
// leadership off it first). Among equals, wanted is walked in its order and
// other nodes by id.
func NextStep(actual Membership, wanted, down []uint64) (Step, error) {
	if err := checkMembership(actual, wanted); err != nil {
		return Step{}, err
	}
	isDown := func(n uint64) bool { return slices.Contains(down, n) }
	voters, learners := sortedSet(actual.Voters), sortedSet(actual.NonVoting)
	var extra, missing []uint64
	for _, v := range voters {
		if !slices.Contains(wanted, v) {
			extra = append(extra, v)
		}
	}
	for _, w := range wanted {
		if !slices.Contains(voters, w) && !slices.Contains(learners, w) {
			missing = append(missing, w)
		}
	}
	if len(extra) == 0 && len(missing) == 0 && len(learners) == 0 {
		return Step{Kind: Settled}, nil
	}
	if actual.Leader == 0 || isDown(actual.Leader) {
		return wait("no live leader"), nil
	}
	live := liveCount(voters, isDown)
	if live < quorum(len(voters)) {
		return wait(fmt.Sprintf("%d of %d voters live, no quorum", live, len(voters))), nil
	}
	// Non-voting members: unwanted ones go, wanted ones are promoted.
	for _, l := range learners {
		if !slices.Contains(wanted, l) {
			return Step{Kind: Remove, Node: l}, nil
		}
	}
	for _, w := range wanted {
		if !slices.Contains(learners, w) || len(voters) > len(wanted) {
			continue // with surplus voters, one goes before another comes
		}
		if isDown(w) {
			return wait(fmt.Sprintf("non-voting %d is down", w)), nil
		}
		if live+1 < quorum(len(voters)+1) {
			return wait(fmt.Sprintf("promoting %d would leave no live quorum", w)), nil
		}
		return Step{Kind: Promote, Node: w}, nil
	}
	if len(missing) > 0 && len(voters) <= len(wanted) {
		for _, m := range missing {
			if !isDown(m) {
				return Step{Kind: AddNonVoting, Node: m}, nil
			}
		}
		return wait(fmt.Sprintf("wanted %v down", missing)), nil
	}
	return removeExtra(actual.Leader, voters, extra, wanted, isDown), nil
}

// removeExtra returns the step that removes one of the unwanted voters extra
// (one exists, and the shard has more voters than wanted): a down one first,
// else one that does not lead, else leadership moves off the leader.
func removeExtra(leader uint64, voters, extra, wanted []uint64, isDown func(uint64) bool) Step {
	pick := uint64(0)
	for _, x := range extra {
		if isDown(x) {
			pick = x
			break
		}
	}
	if pick == 0 {
		for _, x := range extra {
			if x != leader {
				pick = x
				break
			}
		}
	}
	if pick == 0 {
		for _, w := range wanted {
			if slices.Contains(voters, w) && !isDown(w) {
				return Step{Kind: TransferLeader, From: leader, Node: w}
			}
		}
		return wait("no live wanted voter to lead")
	}
	rest := slices.DeleteFunc(slices.Clone(voters), func(v uint64) bool { return v == pick })
	if liveCount(rest, isDown) < quorum(len(rest)) {
		return wait(fmt.Sprintf("removing %d would leave no live quorum", pick))
	}
	return Step{Kind: Remove, Node: pick}
}

func wait(reason string) Step { return Step{Kind: Wait, Reason: reason} }

// quorum is the size of a majority of n voters.
func quorum(n int) int { return n/2 + 1 }

func liveCount(nodes []uint64, isDown func(uint64) bool) int {
	c := 0
	for _, n := range nodes {
		if !isDown(n) {
			c++
		}
	}
	return c
}

// checkMembership rejects input no real shard can have.
func checkMembership(m Membership, wanted []uint64) error {
	switch {
	case len(wanted) == 0:
		return fmt.Errorf("move plan: no wanted voters: %w", ErrMembership)
	case len(sortedSet(wanted)) != len(wanted):
		return fmt.Errorf("move plan: wanted %v has a duplicate: %w", wanted, ErrMembership)
	case len(m.Voters) == 0:
		return fmt.Errorf("move plan: no voters: %w", ErrMembership)
	case slices.Contains(wanted, 0) || slices.Contains(m.Voters, 0) || slices.Contains(m.NonVoting, 0):
		return fmt.Errorf("move plan: node id 0: %w", ErrMembership)
	case m.Leader != 0 && !slices.Contains(m.Voters, m.Leader):
		return fmt.Errorf("move plan: leader %d is not a voter: %w", m.Leader, ErrMembership)
	}
	for _, l := range m.NonVoting {
		if slices.Contains(m.Voters, l) {
			return fmt.Errorf("move plan: %d both voter and non-voting: %w", l, ErrMembership)
		}
	}
	return nil
}
