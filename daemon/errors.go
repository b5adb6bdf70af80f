package daemon

import (
	"context"
	"errors"
	"strings"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// retryHint is the retry delay suggested with an unavailable error: about
// one election.
const retryHint = 200

// quotaRetryHint is the retry delay suggested with a rate quota's refusal.
const quotaRetryHint = 60_000

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
		return &transport.Error{Code: transport.CodeUnavailable, Message: saidOnce(err, parley.ErrUnavailable), RetryMillis: retryHint}
	case errors.Is(err, chatcore.ErrRateQuota):
		// The window is an hour: a retry within a minute is useless.
		return &transport.Error{Code: transport.CodeRateLimited, Message: err.Error(), RetryMillis: quotaRetryHint}
	case errors.Is(err, chatcore.ErrExists):
		return &transport.Error{Code: transport.CodeInvalid, Message: err.Error()}
	}
	code := transport.CodeFor(err)
	for _, sentinel := range []error{parley.ErrTooLarge, parley.ErrInvalid, parley.ErrNotFound, parley.ErrUnauthorized, parley.ErrForbidden} {
		if transport.CodeFor(sentinel) == code {
			return &transport.Error{Code: code, Message: saidOnce(err, sentinel)}
		}
	}
	return &transport.Error{Code: code, Message: err.Error()}
}

// saidOnce is err's message without a trailing ": <sentinel>", the text
// of the sentinel whose wire code the client prints before the message:
// "unauthorized: login: wrong password: unauthorized" says it twice.
func saidOnce(err, sentinel error) string {
	msg := err.Error()
	if !errors.Is(err, sentinel) {
		return msg
	}
	if m, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok && m != "" {
		return m
	}
	return msg
}
