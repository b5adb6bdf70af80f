package parley

import "errors"

// Sentinel errors shared by every layer. The core wraps them, the daemon
// maps them to wire error codes, and the SDK's errors match them again with
// errors.Is (see transport.Error).
var (
	// ErrInvalid marks bad input: a bad name, an empty or malformed text.
	ErrInvalid = errors.New("invalid")
	// ErrTooLarge marks input over its limit, such as a message over
	// MaxTextBytes.
	ErrTooLarge = errors.New("too large")
	// ErrForbidden marks something the user may not do, such as using
	// another pair's direct-message room.
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound marks a missing room, node or account.
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized marks a wrong password or token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnavailable marks a request that could not be served now (no
	// quorum, shard not ready, node closing); it may succeed if retried.
	ErrUnavailable = errors.New("unavailable")
	// ErrRateLimited marks a request refused because its sender did too
	// much too fast (such as creating rooms beyond a quota); it may
	// succeed later.
	ErrRateLimited = errors.New("rate limited")
	// ErrMalformed marks input that is not a valid Parley frame or value.
	ErrMalformed = errors.New("malformed input")
)
