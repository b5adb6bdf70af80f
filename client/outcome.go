package client

import (
	"errors"
	"fmt"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// ErrOutcomeUnknown marks a send that may or may not have been committed:
// it timed out, or the cluster could not say (no quorum, a full disk, a
// lost connection). Retrying with the same message id (SendID) is safe:
// the cluster commits it at most once and a retry of a committed send
// returns the original seq with Duplicate set.
var ErrOutcomeUnknown = errors.New("outcome unknown: retry with the same id")

// OutcomeUnknownError is the error of a send whose outcome is unknown. It
// matches ErrOutcomeUnknown and the cause with errors.Is.
type OutcomeUnknownError struct {
	Room string
	// ID is the message id to retry with.
	ID parley.MsgID
	// Err is why the outcome is unknown.
	Err error
}

// Error implements error.
func (e *OutcomeUnknownError) Error() string {
	return fmt.Sprintf("send to %s: %v %s: %v", e.Room, ErrOutcomeUnknown, e.ID, e.Err)
}

// Unwrap returns ErrOutcomeUnknown and the cause.
func (e *OutcomeUnknownError) Unwrap() []error { return []error{ErrOutcomeUnknown, e.Err} }

// sendOutcome turns the error of a send into an OutcomeUnknownError unless
// the node refused the message for good (it is then not committed) or the
// request was malformed before anything was sent.
func sendOutcome(room string, id parley.MsgID, err error) error {
	var te *transport.Error
	if errors.As(err, &te) && te.Code != transport.CodeUnavailable && te.Code != transport.CodeRateLimited && te.Code != transport.CodeInternal {
		return fmt.Errorf("send: %w", err)
	}
	return &OutcomeUnknownError{Room: room, ID: id, Err: err}
}
