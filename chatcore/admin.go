package chatcore

import (
	"context"
	"fmt"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// IsAdmin reports whether user may change the cluster's membership and
// settings. The first account ever claimed is an admin; admins make others
// admin (GrantAdmin). A disabled admin is none.
func (n *Node) IsAdmin(ctx context.Context, user string) (bool, error) {
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return false, fmt.Errorf("admin: %w", err)
	}
	acct, found, err := n.account(user)
	if err != nil {
		return false, fmt.Errorf("admin: %w", err)
	}
	return found && acct.Admin && !acct.Disabled, nil
}

// requireAdmin returns parley.ErrForbidden unless by is an admin.
func (n *Node) requireAdmin(ctx context.Context, by string) error {
	ok, err := n.IsAdmin(ctx, by)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("admin: %q is not an admin of this cluster: %w", by, parley.ErrForbidden)
	}
	return nil
}

// GrantAdmin makes user an admin; by must be one.
func (n *Node) GrantAdmin(ctx context.Context, by, user string) error {
	if err := parley.ValidateUser(user); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	if err := n.requireAdmin(ctx, by); err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	v, err := n.proposeRegistry(ctx, registryCommand{Op: regOpGrantAdmin, Account: &Account{Name: user}})
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	if v != regApplied {
		return fmt.Errorf("grant: no account %q: %w", user, parley.ErrNotFound)
	}
	return nil
}

// FindNode returns the node named by ref: its id in decimal, or its name.
func (n *Node) FindNode(ref string) (NodeRecord, error) {
	nodes, err := n.Nodes()
	if err != nil {
		return NodeRecord{}, err
	}
	for _, rec := range nodes {
		if rec.Name == ref || fmt.Sprint(rec.ID) == ref {
			return rec, nil
		}
	}
	return NodeRecord{}, fmt.Errorf("node %q: %w", ref, parley.ErrNotFound)
}

// RemoveNode starts removing the node named by ref (id or name) from the
// cluster; by must be an admin. The node drains: the placement moves every
// replica it holds to the other nodes, one safe step at a time; then the
// registry marks it removed and the node stops serving. It returns the
// node's record once draining has begun. The last node cannot be removed.
func (n *Node) RemoveNode(ctx context.Context, by, ref string) (NodeRecord, error) {
	if err := n.requireAdmin(ctx, by); err != nil {
		return NodeRecord{}, fmt.Errorf("remove node: %w", err)
	}
	rec, err := n.FindNode(ref)
	if err != nil {
		return NodeRecord{}, fmt.Errorf("remove node: %w", err)
	}
	nodes, err := n.Nodes()
	if err != nil {
		return NodeRecord{}, fmt.Errorf("remove node: %w", err)
	}
	active := 0
	for _, o := range nodes {
		if o.State == NodeActive && o.ID != rec.ID {
			active++
		}
	}
	if active == 0 {
		return NodeRecord{}, fmt.Errorf("remove node: %s is the last node: %w", rec.Name, parley.ErrInvalid)
	}
	if rec.State == NodeDraining {
		return rec, nil
	}
	cmd := registryCommand{Op: regOpSetNodeState, Target: rec.ID, Node: &NodeRecord{State: NodeDraining}}
	v, err := n.proposeRegistry(ctx, cmd)
	if err != nil {
		return NodeRecord{}, fmt.Errorf("remove node: %w", err)
	}
	if v != regApplied {
		return NodeRecord{}, fmt.Errorf("remove node: %s: rejected by registry: %w", rec.Name, parley.ErrNotFound)
	}
	rec.State = NodeDraining
	return rec, nil
}

// SetDeadAfter changes how long a node may be unreachable before its
// replicas are re-created elsewhere; by must be an admin.
func (n *Node) SetDeadAfter(ctx context.Context, by string, d time.Duration) error {
	if d < MinDeadAfter {
		return fmt.Errorf("set dead-after: %v: at least %v: %w", d, MinDeadAfter, parley.ErrInvalid)
	}
	if err := n.requireAdmin(ctx, by); err != nil {
		return fmt.Errorf("set dead-after: %w", err)
	}
	v, err := n.proposeRegistry(ctx, registryCommand{Op: regOpSetSettings, Cluster: &ClusterInfo{DeadAfter: d}})
	if err != nil {
		return fmt.Errorf("set dead-after: %w", err)
	}
	if v != regApplied {
		return fmt.Errorf("set dead-after: rejected by registry: %w", parley.ErrInvalid)
	}
	return nil
}
