package daemon

import (
	"context"
	"errors"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// retryHint is the retry delay suggested with an unavailable error: about
// one election.
const retryHint = 200

// wireError turns an error from the core into the typed error a client sees.
func wireError(err error) *transport.Error {
	var te *transport.Error
	if errors.As(err, &te) {
		return te
	}
	code := transport.CodeInternal
	switch {
	case errors.Is(err, chatcore.ErrTooLarge):
		code = transport.CodeTooLarge
	case errors.Is(err, chatcore.ErrInvalid), errors.Is(err, chatcore.ErrExists):
		code = transport.CodeInvalid
	case errors.Is(err, chatcore.ErrNotFound):
		code = transport.CodeNotFound
	case errors.Is(err, chatcore.ErrUnauthorized):
		code = transport.CodeUnauthorized
	case errors.Is(err, chatcore.ErrForbidden):
		code = transport.CodeForbidden
	case errors.Is(err, chatcore.ErrUnavailable), errors.Is(err, chatcore.ErrNotHosted),
		errors.Is(err, chatcore.ErrClosed), errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, context.Canceled):
		return &transport.Error{Code: transport.CodeUnavailable, Message: err.Error(), RetryMillis: retryHint}
	}
	return &transport.Error{Code: code, Message: err.Error()}
}
