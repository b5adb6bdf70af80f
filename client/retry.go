package client

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/parleychat/parley/transport"
)

// Errors that end one attempt but not the operation.
var (
	// errStreamEnded: a subscription stream broke while its connection
	// may still be alive.
	errStreamEnded = errors.New("subscription stream ended")
	// errStreamTimeout: the node confirmed a subscription but never opened
	// its stream.
	errStreamTimeout = errors.New("subscription stream never opened")
	// errGap: a subscription stream skipped a seq.
	errGap = errors.New("gap in subscription stream")
)

// retryDelay reports whether an operation that failed with err should be
// tried again, and after how long. A lost connection is retried at once:
// the next attempt waits for the reconnect. unavailable and rate_limited
// are retried after the node's hint, or the backoff if it gave none.
// Anything else the node says is final.
func retryDelay(err error, bo *backoff) (time.Duration, bool) {
	switch {
	case errors.Is(err, errConnLost):
		return 0, true
	case errors.Is(err, errStreamEnded), errors.Is(err, errStreamTimeout), errors.Is(err, errGap):
		return bo.next(), true
	}
	var te *transport.Error
	if errors.As(err, &te) {
		switch te.Code {
		case transport.CodeUnavailable, transport.CodeRateLimited:
			if d := te.RetryAfter(); d > 0 {
				return d, true
			}
			return bo.next(), true
		}
	}
	return 0, false
}

// do runs one request, retrying it on the next connection and after
// retryable refusals, until it succeeds, fails for good, or ctx ends. The
// same req is sent every time, so a retried send keeps its message id.
func (c *Client) do(ctx context.Context, op string, req, resp any) error {
	bo := newBackoff()
	var last error
	for {
		cn, err := c.current(ctx)
		if err == nil {
			err = cn.call(ctx, op, req, resp)
			if err == nil {
				return nil
			}
		}
		if errors.Is(err, ErrClosed) {
			return err
		}
		d, ok := retryDelay(err, &bo)
		if !ok {
			if ctx.Err() != nil {
				return withLast(err, last)
			}
			return err
		}
		if dl, ok := ctx.Deadline(); ok && transport.CodeOf(err) == transport.CodeRateLimited && time.Now().Add(d).After(dl) {
			// The node asks to wait past the caller's deadline (a quota):
			// say why now rather than wait for nothing.
			return err
		}
		last = err
		c.log.Debug("retrying", "op", op, "after", d, "err", err)
		if err := c.sleep(ctx, d); err != nil {
			if errors.Is(err, ErrClosed) {
				return err
			}
			return withLast(err, last)
		}
	}
}

// withLast adds the last retryable failure to the error that ended the
// retries, so a timeout says what it was waiting for.
func withLast(err, last error) error {
	if last == nil {
		return err
	}
	return fmt.Errorf("%w (last error: %v)", err, last)
}
