package main

import (
	"context"
	"flag"
	"fmt"
	"sync/atomic"

	"github.com/parleychat/parley/client"
)

// runTail implements "parley tail --room R [--from SEQ | --last N]": like
// tail -f, the room's last N messages (default 10; 0 means only what comes
// from now on), or its messages from SEQ, stored then live, until
// interrupted. SIGINT or SIGTERM ends it cleanly with status 0. The
// connection is bounded by --timeout; the feed is not. Losing and regaining
// the connection is noted on stderr; no message is skipped or repeated.
func runTail(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("tail", "parley tail --room ROOM [--from SEQ | --last N] [flags]")
	room := f.String("room", "", "the `room` to follow (required)")
	from := f.Uint64("from", 0, "first `seq` to print (instead of --last)")
	last := f.Int("last", 10, "start with the room's last `n` messages; 0 prints only messages from now on")
	if err := f.parse(e, args); err != nil {
		return err
	}
	fromSet := false
	f.Visit(func(fl *flag.Flag) { fromSet = fromSet || fl.Name == "from" })
	if *last < 0 {
		return usagef("--last must be 0 or more")
	}
	if *room == "" {
		return usagef("--room is required")
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	var cp atomic.Pointer[client.Client]
	onState := func(st client.State) {
		switch st {
		case client.Reconnecting:
			fmt.Fprintln(e.stderr, "parley: connection lost; reconnecting")
		case client.Reconnected:
			if c := cp.Load(); c != nil {
				n := c.Node()
				fmt.Fprintf(e.stderr, "parley: reconnected to node %d (%s)\n", n.ID, n.Addr)
			}
		}
	}
	c, s, err := f.common.dial(ctx, e, onState)
	if err != nil {
		return interrupted(ctx, err)
	}
	cp.Store(c)
	defer c.Close()
	if !fromSet && *last > 0 {
		// The subscription delivers stored then live messages from a
		// seq; the history read only finds where the last N start.
		recent, err := c.History(ctx, *room, client.HistoryOptions{Last: *last})
		if err != nil {
			return interrupted(ctx, err)
		}
		*from = 1
		if len(recent) > 0 {
			*from = recent[0].Seq
		}
	}
	sub, err := c.Subscribe(ctx, *room, *from)
	if err != nil {
		return interrupted(ctx, err)
	}
	defer sub.Close()
	p := newPrinter(e.stdout, s.json)
	for m := range sub.C() {
		if err := p.message(m); err != nil {
			return err
		}
	}
	return sub.Err()
}

// interrupted turns an error caused by the interrupt into a clean exit.
func interrupted(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
