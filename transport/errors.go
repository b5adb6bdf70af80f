package transport

import (
	"errors"
	"fmt"
	"time"
)

// ErrMalformed marks input that is not a valid Parley frame or message.
var ErrMalformed = errors.New("malformed input")

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
