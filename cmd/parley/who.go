package main

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// runWho implements "parley who --room R": the room's members, one per
// line with "online" or "offline", or one JSON object per member.
func runWho(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("who", "parley who --room ROOM [flags]")
	room := f.String("room", "", "the `room` whose members to list (required)")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if *room == "" {
		return usagef("--room is required")
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	who := func(ctx context.Context, c *client.Client) ([]transport.Member, error) { return c.Who(ctx, *room) }
	return query(ctx, e, f, who, (*printer).members)
}

// memberJSON is the JSON line of one member.
type memberJSON struct {
	User   string `json:"user"`
	Online bool   `json:"online"`
}

// members prints "alice online" lines, or one JSON line each.
func (p *printer) members(members []transport.Member) error {
	for _, m := range members {
		var err error
		if p.json {
			err = p.writeJSON(memberJSON{User: m.User, Online: m.Online})
		} else {
			state := "offline"
			if m.Online {
				state = "online"
			}
			_, err = fmt.Fprintf(p.w, "%s %s\n", clean(m.User), state)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
