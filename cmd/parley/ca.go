package main

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/client"
)

// runCA implements "parley ca": the cluster CA's certificate in PEM, as
// the connection verified it (pinned on first use, or --ca). Import it in
// a browser to trust the nodes' HTTPS web client (parleyd --https).
func runCA(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("ca", "parley ca [flags]")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return usagef("unexpected argument %q", f.Arg(0))
	}
	pem := func(ctx context.Context, c *client.Client) ([]byte, error) {
		b := c.ClusterCA()
		if b == nil {
			return nil, fmt.Errorf("ca: the connection verified no cluster CA")
		}
		return b, nil
	}
	return query(ctx, e, f, pem, func(p *printer, b []byte) error {
		_, err := p.w.Write(b)
		return err
	})
}
