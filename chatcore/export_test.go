package chatcore

// TransferRequest is a leadership transfer a node asked for, for tests.
type TransferRequest = transferRequest

// TransfersPutOff returns how many transfers n gave up for want of a quiet
// moment.
func TransfersPutOff(n *Node) int {
	n.moves.mu.Lock()
	defer n.moves.mu.Unlock()
	return n.moves.putOff
}

// TransfersRequested returns the latest leadership transfers n asked
// dragonboat for, oldest first.
func TransfersRequested(n *Node) []TransferRequest {
	n.moves.mu.Lock()
	defer n.moves.mu.Unlock()
	return append([]TransferRequest(nil), n.moves.requested...)
}

// QuiesceAfter is how long a room shard must be idle before it quiesces.
const QuiesceAfter = quiesceAfter

// WithRaftLayout returns p with logDBShards LogDB partitions and
// engineShards engine partitions, as a node created by an older release
// has them.
func WithRaftLayout(p Profile, logDBShards, engineShards uint64) Profile {
	return p.withRaftLayout(raftLayout{LogDBShards: logDBShards, EngineShards: engineShards})
}
