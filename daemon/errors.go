package daemon

import (
	"context"
	"errors"
	"strings"

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
	for _, c := range errorCodes {
		if errors.Is(err, c.sentinel) {
			e := &transport.Error{Code: c.code, Message: saidOnce(err, c.sentinel)}
			if c.code == transport.CodeUnavailable {
				e.RetryMillis = retryHint
			}
			return e
		}
	}
	return &transport.Error{Code: transport.CodeInternal, Message: err.Error()}
}

// errorCodes maps the core's sentinel errors to wire codes, first match
// wins.
var errorCodes = []struct {
	sentinel error
	code     transport.Code
}{
	{chatcore.ErrTooLarge, transport.CodeTooLarge},
	{chatcore.ErrInvalid, transport.CodeInvalid},
	{chatcore.ErrExists, transport.CodeInvalid},
	{chatcore.ErrNotFound, transport.CodeNotFound},
	{chatcore.ErrUnauthorized, transport.CodeUnauthorized},
	{chatcore.ErrForbidden, transport.CodeForbidden},
	{chatcore.ErrUnavailable, transport.CodeUnavailable},
	{chatcore.ErrNotHosted, transport.CodeUnavailable},
	{chatcore.ErrClosed, transport.CodeUnavailable},
	{context.DeadlineExceeded, transport.CodeUnavailable},
	{context.Canceled, transport.CodeUnavailable},
}

// saidOnce is err's message without a trailing ": <sentinel>" when the
// sentinel is the one the wire code says: a client prints the code before
// the message, and "unauthorized: login: wrong password: unauthorized"
// says it twice. A sentinel whose text adds something (ErrExists:
// "already exists" under the code invalid) stays.
func saidOnce(err, sentinel error) string {
	msg := err.Error()
	if sentinel == chatcore.ErrExists || sentinel == chatcore.ErrNotHosted || sentinel == chatcore.ErrClosed {
		return msg
	}
	if m, ok := strings.CutSuffix(msg, ": "+sentinel.Error()); ok && m != "" {
		return m
	}
	return msg
}
