package chatcore

import (
	"slices"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/parleychat/parley/placement"
)

// Cluster settings bounds.
const (
	// DefaultDeadAfter is how long a node may be unreachable before its
	// replicas are re-created elsewhere, unless the cluster says otherwise.
	DefaultDeadAfter = 5 * time.Minute
	// MinDeadAfter is the shortest dead-after a cluster accepts: shorter
	// would replace nodes that merely restart.
	MinDeadAfter = time.Second
	// MaxReplication is the most voting replicas a room shard may have.
	MaxReplication = 7
)

// applyReplica assigns or releases a node's replica id of a room shard.
// An assignment returns the node's replica id, a new one unless it had one;
// a release returns regApplied, or regRejected when the node's replica id is
// not the one the command expected (a newer assignment must stay).
func (r *registryShard) applyReplica(b *pebble.Batch, info *ClusterInfo, cmd registryCommand) (uint64, error) {
	if !placement.IsRoomShard(cmd.Shard) || cmd.Target == 0 {
		return regRejected, nil
	}
	var p Placement
	found, err := getCBOR(b, placementKey(cmd.Shard), &p)
	if err != nil || !found {
		return regRejected, err
	}
	if cmd.Op == regOpReleaseReplica {
		if id, ok := p.Replicas[cmd.Target]; !ok || id != cmd.Replica {
			return regRejected, nil
		}
		delete(p.Replicas, cmd.Target)
		return regApplied, putCBOR(b, placementKey(cmd.Shard), p)
	}
	var node NodeRecord
	if found, err := getCBOR(b, nodeKey(cmd.Target), &node); err != nil || !found || node.State == NodeRemoved {
		return regRejected, err
	}
	if id, ok := p.Replicas[cmd.Target]; ok {
		return id, nil
	}
	if info.NextReplicaID < 2 {
		info.NextReplicaID = 2
	}
	id := info.NextReplicaID
	info.NextReplicaID++
	if p.Replicas == nil {
		p.Replicas = make(map[uint64]uint64)
	}
	p.Replicas[cmd.Target] = id
	if err := putCBOR(b, placementKey(cmd.Shard), p); err != nil {
		return 0, err
	}
	return id, putCBOR(b, regKey(regCluster, ""), *info)
}

// applyNode records a heartbeat, a state change or a new registry replica
// generation of a node.
func (r *registryShard) applyNode(b *pebble.Batch, cmd registryCommand) (uint64, error) {
	var node NodeRecord
	found, err := getCBOR(b, nodeKey(cmd.Target), &node)
	if err != nil || !found || node.State == NodeRemoved {
		return regRejected, err
	}
	switch cmd.Op {
	case regOpHeartbeat:
		// A node whose previous beat is fresh, reporting the same leads,
		// changes nothing the node's loops act on at once.
		r.beatOnly = cmd.TS-node.Beat < int64(freshFor) && (cmd.Node == nil || sameReports(node.Leads, cmd.Node.Leads))
		node.Beat = cmd.TS
		if cmd.Node != nil {
			node.Leads = cmd.Node.Leads
		}
	case regOpSetNodeState:
		if cmd.Node == nil || cmd.Node.State != NodeDraining && cmd.Node.State != NodeRemoved {
			return regRejected, nil
		}
		node.State = cmd.Node.State
		if node.State == NodeRemoved {
			node.Leads = nil
		}
	case regOpRegistryGen:
		if node.RegistryGen != cmd.Replica {
			return regRejected, nil
		}
		node.RegistryGen++
	}
	return regApplied, putCBOR(b, nodeKey(node.ID), node)
}

// sameReports reports whether two leader reports say the same.
func sameReports(a, b []ShardReport) bool {
	return slices.EqualFunc(a, b, func(x, y ShardReport) bool {
		return x.Shard == y.Shard && x.Term == y.Term && x.Busy == y.Busy &&
			slices.Equal(x.Voters, y.Voters) && slices.Equal(x.NonVoting, y.NonVoting)
	})
}
