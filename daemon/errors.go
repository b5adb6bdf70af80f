package daemon

import (
	"context"
	"errors"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// retryHint is the retry delay suggested with an unavailable error: about
// one election.
const retryHint = 200

// wireError turns an error from the core into the typed error a client sees:
// the code of the domain sentinel it wraps (transport.CodeFor), with a retry
// hint for anything that may succeed later.
func wireError(err error) *transport.Error {
	var te *transport.Error
	if errors.As(err, &te) {
		return te
	}
	switch {
	case errors.Is(err, parley.ErrUnavailable), errors.Is(err, chatcore.ErrNotHosted),
		errors.Is(err, chatcore.ErrClosed), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return &transport.Error{Code: transport.CodeUnavailable, Message: err.Error(), RetryMillis: retryHint}
	case errors.Is(err, chatcore.ErrExists):
		return &transport.Error{Code: transport.CodeInvalid, Message: err.Error()}
	}
	return &transport.Error{Code: transport.CodeFor(err), Message: err.Error()}
}
