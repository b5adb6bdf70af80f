package chatcore

// TransferRequest is a leadership transfer a node asked for, for tests.
type TransferRequest = transferRequest

// TransfersRequested returns the latest leadership transfers n asked
// dragonboat for, oldest first.
func TransfersRequested(n *Node) []TransferRequest {
	n.moves.mu.Lock()
	defer n.moves.mu.Unlock()
	return append([]TransferRequest(nil), n.moves.requested...)
}
