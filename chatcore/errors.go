package chatcore

import "errors"

// Sentinel errors. Callers test them with errors.Is; the daemon maps them to
// wire error codes.
var (
	// ErrInvalid marks bad input: a bad name, an empty or oversized text.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge marks a message over MaxTextBytes.
	ErrTooLarge = errors.New("too large")
	// ErrForbidden marks a room the user may not use: another pair's
	// direct-message room.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound marks a missing room, node or account.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized marks a wrong password or token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnavailable marks a request that could not be served now (no
	// quorum, shard not ready, node closing); it may succeed if retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrNotHosted marks a shard that has no replica on this node.
	ErrNotHosted = errors.New("shard not hosted on this node")
	// ErrLagging ends a subscription whose consumer fell too far behind.
	ErrLagging = errors.New("subscriber too slow")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("node closed")
	// ErrExists marks a data directory that already holds a node.
	ErrExists = errors.New("already exists")
)
