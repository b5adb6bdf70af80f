package client

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/transport"
)

// Status returns the cluster's nodes and shards as the connected node sees
// them. It is retried across reconnects until ctx ends.
func (c *Client) Status(ctx context.Context) (transport.StatusResponse, error) {
	var resp transport.StatusResponse
	if err := c.do(ctx, transport.OpStatus, transport.StatusRequest{}, &resp); err != nil {
		return transport.StatusResponse{}, fmt.Errorf("status: %w", err)
	}
	return resp, nil
}
