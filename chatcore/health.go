package chatcore

import (
	"context"
	"fmt"
	"slices"

	"github.com/parleychat/parley/placement"
)

// CheckRegistry makes a linearizable read of the registry: it succeeds only
// if a quorum of the registry's voters answers (through its leader) before
// ctx ends, so it tells whether this node can serve.
func (n *Node) CheckRegistry(ctx context.Context) error {
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return nil
}

// CatchUp waits until the local replica of every shard this node hosts has
// applied every entry committed before the call, shard by shard, or until
// ctx ends. A node that has just started is caught up once it returns nil.
func (n *Node) CatchUp(ctx context.Context) error {
	n.mu.Lock()
	shards := make([]uint64, 0, len(n.hosted))
	for s := range n.hosted {
		shards = append(shards, s)
	}
	n.mu.Unlock()
	slices.Sort(shards)
	for _, s := range shards {
		if err := n.readBarrierOn(ctx, s); err != nil {
			return fmt.Errorf("shard %d: %w", s, err)
		}
	}
	return nil
}
