package client

import (
	"context"
	"math/rand/v2"
	"time"
)

// Timing of retries and reconnects. They are variables so that tests can
// shorten them.
var (
	// backoffMin and backoffMax bound the exponential backoff between
	// reconnect attempts and retries.
	backoffMin = 50 * time.Millisecond
	backoffMax = 2 * time.Second
	// dialTimeout bounds one handshake attempt with one node. A first login
	// hashes the password with argon2id and commits the account through
	// Raft: seconds on a busy Raspberry Pi.
	dialTimeout = 10 * time.Second
	// streamWait bounds how long a subscription waits for the server to
	// open its stream after confirming it.
	streamWait = 10 * time.Second
)

// backoff is exponential backoff with jitter: the n-th delay is drawn
// uniformly from [d/2, d] where d = min·2ⁿ, capped at max.
type backoff struct {
	min, max time.Duration
	attempt  int
}

func newBackoff() backoff {
	return backoff{min: backoffMin, max: backoffMax}
}

// next returns the delay before the next attempt.
func (b *backoff) next() time.Duration {
	d := b.max
	if b.attempt < 32 {
		if e := b.min << b.attempt; e > 0 && e < b.max {
			d = e
			b.attempt++
		}
	}
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// reset starts the sequence over, after a success.
func (b *backoff) reset() { b.attempt = 0 }

// sleep waits for d, or until ctx or the Client ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-c.ctx.Done():
		return ErrClosed
	}
}
