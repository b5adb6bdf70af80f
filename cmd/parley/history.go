package main

import (
	"context"

	"github.com/parleychat/parley"
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
	history := func(ctx context.Context, c *client.Client) ([]parley.Message, error) {
		return c.History(ctx, *room, client.HistoryOptions{Last: *last})
	}
	return query(ctx, e, f, history, (*printer).messages)
}
