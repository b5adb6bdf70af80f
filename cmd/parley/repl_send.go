package main

import (
	"context"
	"fmt"
)

// outgoing is a typed line waiting for its send: text for room, or a
// direct message to user.
type outgoing struct {
	room, user, text string
}

// queue hands o to the sender, so that the prompt comes back at once. It
// waits only when sendQueue lines are already waiting.
func (r *repl) queue(ctx context.Context, o outgoing) error {
	select {
	case r.out <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendLoop sends the queued lines one at a time, in the order they were
// typed, until the queue is closed. Each send is retried by the SDK across
// a failover, with the same message id, until it is acknowledged or
// --timeout passes. A line that could not be sent is reported, with its
// beginning, as one line. The message itself appears when the room's
// subscription delivers it.
func (r *repl) sendLoop(ctx context.Context) {
	defer r.sending.Done()
	for o := range r.out {
		octx, cancel := r.set.operation(ctx)
		if o.user != "" {
			res, err := r.c.DirectMessage(octx, o.user, o.text)
			if err != nil {
				r.failed(fmt.Sprintf("not sent to %s (%s)", clean(o.user), excerpt(o.text)), err)
			} else {
				r.followDM(res.Room, o.user, res.Seq)
			}
		} else if _, err := r.c.Send(octx, o.room, o.text); err != nil {
			r.failed(fmt.Sprintf("not sent to %s (%s)", clean(o.room), excerpt(o.text)), err)
		}
		cancel()
	}
}

// excerpt quotes the beginning of text for an error line.
func excerpt(text string) string {
	const max = 24
	r := []rune(text)
	if len(r) > max {
		return fmt.Sprintf("%q…", string(r[:max]))
	}
	return fmt.Sprintf("%q", text)
}
