package main

import (
	"context"

	"github.com/parleychat/parley/client"
)

// runHistory implements "parley history --room R [--last N]": the room's
// last N messages (default 50), oldest first, in tail's format.
func runHistory(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("history", "parley history --room ROOM [--last N] [flags]")
	room := f.String("room", "", "the `room` to read (required)")
	last := f.Int("last", 50, "print the last `N` messages")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if *room == "" {
		return usagef("--room is required")
	}
	if *last <= 0 {
		return usagef("--last must be positive")
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := s.operation(ctx)
	defer cancel()
	msgs, err := c.History(octx, *room, client.HistoryOptions{Last: *last})
	if err != nil {
		return err
	}
	p := newPrinter(e.stdout, s.json)
	for _, m := range msgs {
		if err := p.message(m); err != nil {
			return err
		}
	}
	return nil
}
