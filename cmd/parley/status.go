package main

import (
	"context"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// runStatus implements "parley status": the cluster's nodes (id, name,
// addr, up) and shards (id, leader, term, replicas) as the connected node
// sees them.
func runStatus(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("status", "parley status [flags]")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	status := func(ctx context.Context, c *client.Client) (transport.StatusResponse, error) { return c.Status(ctx) }
	return query(ctx, e, f, status, (*printer).status)
}
