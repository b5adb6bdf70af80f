package main

import "context"

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
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := s.operation(ctx)
	defer cancel()
	st, err := c.Status(octx)
	if err != nil {
		return err
	}
	return newPrinter(e.stdout, s.json).status(st)
}
