package chatcore

import "errors"

// Sentinel errors of the core itself. The errors every layer shares
// (parley.ErrInvalid, parley.ErrForbidden, parley.ErrUnavailable, …) live in
// package parley; callers test both with errors.Is, and the daemon maps
// them to wire error codes.
var (
	// ErrNotHosted marks a shard that has no replica on this node.
	ErrNotHosted = errors.New("shard not hosted on this node")
	// ErrLagging ends a subscription whose consumer fell too far behind.
	ErrLagging = errors.New("subscriber too slow")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("node closed")
	// ErrExists marks a data directory that already holds a node.
	ErrExists = errors.New("already exists")
	// ErrRemoved marks a node an admin removed from its cluster: it no
	// longer serves, and its data dir cannot rejoin.
	ErrRemoved = errors.New("node removed from the cluster")
)
