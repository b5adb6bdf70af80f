package transport

import (
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley"
)

// Code is a typed error code carried on the wire.
type Code string

// The error codes a client can receive. "Not leader" is never one of them:
// a node resolves that itself.
const (
	CodeUnauthorized Code = "unauthorized"
	CodeForbidden    Code = "forbidden"
	CodeNotFound     Code = "not_found"
	CodeInvalid      Code = "invalid"
	CodeTooLarge     Code = "too_large"
	CodeRateLimited  Code = "rate_limited"
	CodeUnavailable  Code = "unavailable"
	CodeInternal     Code = "internal"
)

// Error is an error with a code, a human message and, for unavailable and
// rate_limited, a hint of when to retry. It travels in responses and
// subscription events.
type Error struct {
	Code    Code   `cbor:"1,keyasint"`
	Message string `cbor:"2,keyasint"`
	// RetryMillis is how long the client should wait before retrying.
	RetryMillis int64 `cbor:"3,keyasint,omitempty"`
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// RetryAfter returns the retry hint as a duration.
func (e *Error) RetryAfter() time.Duration {
	return time.Duration(e.RetryMillis) * time.Millisecond
}

// Errorf builds an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of err if it is (or wraps) an *Error, else "".
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// codeErrors pairs each wire code with the domain's sentinel error it
// stands for: the daemon sends a code for an error that wraps the sentinel,
// and a client's errors.Is finds the sentinel again in the code.
var codeErrors = []struct {
	code Code
	err  error
}{
	{CodeUnauthorized, parley.ErrUnauthorized},
	{CodeForbidden, parley.ErrForbidden},
	{CodeNotFound, parley.ErrNotFound},
	{CodeTooLarge, parley.ErrTooLarge},
	{CodeInvalid, parley.ErrInvalid},
	{CodeUnavailable, parley.ErrUnavailable},
	{CodeRateLimited, parley.ErrRateLimited},
}

// Is reports whether target is the sentinel error of e's code, so that
// errors.Is(err, parley.ErrForbidden) holds for a forbidden reply as it
// does for the core's own error.
func (e *Error) Is(target error) bool {
	for _, ce := range codeErrors {
		if ce.code == e.Code {
			return ce.err == target
		}
	}
	return false
}

// CodeFor returns the wire code of the first domain sentinel that err
// wraps (parley.ErrTooLarge before parley.ErrInvalid), or CodeInternal.
func CodeFor(err error) Code {
	for _, ce := range codeErrors {
		if errors.Is(err, ce.err) {
			return ce.code
		}
	}
	return CodeInternal
}
