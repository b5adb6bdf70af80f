package client

import (
	"context"
	"fmt"

	"github.com/parleychat/parley/transport"
)

// Admin asks for an admin action (transport.AdminRemoveNode, AdminGrant,
// AdminSet) and returns the node's account of what it did. Only an admin
// may; anyone else gets an error that is parley.ErrForbidden.
func (c *Client) Admin(ctx context.Context, action string, args ...string) (string, error) {
	var resp transport.AdminResponse
	if err := c.do(ctx, transport.OpAdmin, transport.AdminRequest{Action: action, Args: args}, &resp); err != nil {
		return "", fmt.Errorf("admin %s: %w", action, err)
	}
	return resp.Message, nil
}
