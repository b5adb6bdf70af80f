package main

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// adminActions are the actions of "parley admin", with how many arguments
// each takes.
var adminActions = map[string]int{
	transport.AdminRemoveNode: 1,
	transport.AdminGrant:      1,
	transport.AdminSet:        2,
}

// runAdmin implements "parley admin remove-node NODE", "parley admin grant
// USER" and "parley admin set dead-after DURATION": it prints what the
// cluster did. Only an admin may; the first user to log in to a new cluster
// is one.
func runAdmin(ctx context.Context, e *env, args []string) error {
	if done, err := runAdminBackup(ctx, e, args); done {
		return err
	}
	f := newFlagSet("admin", "parley admin remove-node NODE | grant USER | set dead-after DURATION | set signup open|invite|closed | user ACTION USER | invite new | token new|list|revoke ID | export [--room ROOM]… [--output FILE] | import FILE [flags]")
	af := addAdminAccountFlags(f)
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() == 0 {
		return usagef("no action: remove-node, grant, set, user, invite, token, export or import")
	}
	action, rest := f.Arg(0), f.Args()[1:]
	if run, ok := adminAccountActions[action]; ok {
		return run(ctx, e, f, af, rest)
	}
	want, ok := adminActions[action]
	if !ok {
		return usagef("unknown action %q: remove-node, grant, set, user, invite, token, export or import", action)
	}
	if len(rest) != want {
		return usagef("%s takes %d argument(s), got %d", action, want, len(rest))
	}
	if action == transport.AdminSet && rest[0] != "dead-after" && rest[0] != "signup" {
		return usagef("unknown setting %q: dead-after or signup", rest[0])
	}
	do := func(ctx context.Context, c *client.Client) (string, error) { return c.Admin(ctx, action, rest...) }
	return query(ctx, e, f, do, (*printer).adminResult)
}

// adminResult prints the cluster's account of an admin action, or
// {"message": ...} in JSON.
func (p *printer) adminResult(msg string) error {
	if p.json {
		return p.writeJSON(struct {
			Message string `json:"message"`
		}{msg})
	}
	_, err := fmt.Fprintln(p.w, clean(msg))
	return err
}
