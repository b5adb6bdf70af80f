package placement

import "errors"

// Errors of the placement rules: bad input, never a transient condition.
var (
	// ErrNoNodes means there is no live node to place replicas on.
	ErrNoNodes = errors.New("no live nodes")
	// ErrReplicas means a replica count below 1.
	ErrReplicas = errors.New("replica count must be at least 1")
	// ErrMembership means a membership or wanted voter set that cannot be
	// real: empty, with a duplicate, a node both voter and non-voting, or a
	// leader that is not a voter.
	ErrMembership = errors.New("impossible membership")
)
