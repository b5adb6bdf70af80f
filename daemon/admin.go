package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// admin serves an admin action for the session's user; chatcore checks the
// user is an admin.
func (ss *session) admin(ctx context.Context, r transport.AdminRequest) (transport.AdminResponse, error) {
	if resp, ok, err := ss.adminAccounts(ctx, r); ok {
		return resp, err
	}
	node := ss.srv.node
	switch {
	case r.Action == transport.AdminRemoveNode && len(r.Args) == 1:
		rec, err := node.RemoveNode(ctx, ss.user, r.Args[0])
		if err != nil {
			return transport.AdminResponse{}, err
		}
		ss.log.Info("admin: remove node", "node", rec.ID, "name", rec.Name)
		return transport.AdminResponse{Message: fmt.Sprintf("node %d (%s) is draining: its replicas move to the other nodes, then it is removed and stops", rec.ID, rec.Name)}, nil
	case r.Action == transport.AdminGrant && len(r.Args) == 1:
		if err := node.GrantAdmin(ctx, ss.user, r.Args[0]); err != nil {
			return transport.AdminResponse{}, err
		}
		ss.log.Info("admin: grant", "user", r.Args[0])
		return transport.AdminResponse{Message: fmt.Sprintf("%s is now an admin", r.Args[0])}, nil
	case r.Action == transport.AdminSet && len(r.Args) == 2 && r.Args[0] == "dead-after":
		d, err := time.ParseDuration(r.Args[1])
		if err != nil {
			return transport.AdminResponse{}, fmt.Errorf("set dead-after: %q: %w", r.Args[1], parley.ErrInvalid)
		}
		if err := node.SetDeadAfter(ctx, ss.user, d); err != nil {
			return transport.AdminResponse{}, err
		}
		ss.log.Info("admin: set dead-after", "value", d)
		return transport.AdminResponse{Message: fmt.Sprintf("dead-after is now %v", d)}, nil
	}
	return transport.AdminResponse{}, fmt.Errorf("admin: unknown action %q with %d arguments: %w", r.Action, len(r.Args), parley.ErrInvalid)
}
