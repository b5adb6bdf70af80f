package main

import (
	"context"

	"github.com/parleychat/parley/client"
)

// query is the body of the commands that make one request and print its
// answer (status, rooms, who, history): it dials as f's flags say, makes
// the request within the operation timeout, and prints what came back.
func query[T any](ctx context.Context, e *env, f *flagSet,
	request func(context.Context, *client.Client) (T, error),
	print func(*printer, T) error) error {
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	octx, cancel := s.operation(ctx)
	defer cancel()
	v, err := request(octx, c)
	if err != nil {
		return err
	}
	return print(newPrinter(e.stdout, s.json), v)
}
