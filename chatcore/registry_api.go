package chatcore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/placement"
)

// proposeRegistry commits a registry command and returns its result value.
func (n *Node) proposeRegistry(ctx context.Context, cmd registryCommand) (uint64, error) {
	data, err := cbor.Marshal(cmd)
	if err != nil {
		return 0, fmt.Errorf("registry: encode: %w", err)
	}
	res, err := n.propose(ctx, placement.RegistryShard, data)
	if err != nil {
		return 0, fmt.Errorf("registry: %w", err)
	}
	return res.Value, nil
}

// registryChanged runs after every applied registry batch.
func (n *Node) registryChanged() {
	n.regMu.Lock()
	close(n.regWake)
	n.regWake = make(chan struct{})
	n.regMu.Unlock()
}

func (n *Node) registryWake() <-chan struct{} {
	n.regMu.Lock()
	defer n.regMu.Unlock()
	return n.regWake
}

// clusterInfo reads the local replica's cluster settings.
func (n *Node) clusterInfo() (ClusterInfo, bool, error) {
	var info ClusterInfo
	found, err := getCBOR(n.db.db, regKey(regCluster, ""), &info)
	return info, found, err
}

// ClusterInfo returns the cluster settings, including the CA, after making
// sure the local registry replica is current.
func (n *Node) ClusterInfo(ctx context.Context) (ClusterInfo, error) {
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return ClusterInfo{}, fmt.Errorf("registry: %w", err)
	}
	info, found, err := n.clusterInfo()
	if err != nil {
		return info, err
	}
	if !found {
		return info, fmt.Errorf("registry: cluster not initialised: %w", parley.ErrUnavailable)
	}
	return info, nil
}

// Nodes lists the nodes of the cluster as the local registry replica knows
// them (possibly a little stale), but those removed.
func (n *Node) Nodes() ([]NodeRecord, error) {
	nodes, err := listNodes(n.db.db)
	return slices.DeleteFunc(nodes, func(r NodeRecord) bool { return r.State == NodeRemoved }), err
}

// Rooms lists the rooms of the cluster's directory.
func (n *Node) Rooms() ([]RoomRecord, error) { return scanCBOR[RoomRecord](n.db.db, regRoom) }

// SyncRooms is Rooms after a read barrier on the registry: it holds every
// room whose creation finished before the call, on whichever node.
func (n *Node) SyncRooms(ctx context.Context) ([]RoomRecord, error) {
	if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
		return nil, fmt.Errorf("rooms: %w", err)
	}
	return n.Rooms()
}

func (n *Node) placement(shard uint64) (Placement, error) {
	var p Placement
	_, err := getCBOR(n.db.db, placementKey(shard), &p)
	return p, err
}

// addNode registers a new node and adds it as a non-voting member of the
// registry (see Admit, which checks the name and addresses). Adding the same name and Raft address again (a
// retried join) returns the same id.
func (n *Node) addNode(ctx context.Context, rec NodeRecord, token string) (uint64, error) {
	rec.Joined = time.Now().UnixNano()
	cmd := registryCommand{Op: regOpAddNode, TS: rec.Joined, Node: &rec}
	if token != "" {
		cmd.Secret = pki.HashToken(token)
	}
	v, err := n.proposeRegistry(ctx, cmd)
	if err != nil {
		return 0, fmt.Errorf("admit: %w", err)
	}
	id := v
	if v == regRejected {
		nodes, err := n.Nodes()
		if err != nil {
			return 0, fmt.Errorf("admit: %w", err)
		}
		id = 0
		for _, o := range nodes {
			if o.Name == rec.Name && o.RaftAddr == rec.RaftAddr {
				id = o.ID
			} else if o.Name == rec.Name || o.RaftAddr == rec.RaftAddr {
				return 0, fmt.Errorf("admit: node %d already has name %q or address %s: %w", o.ID, o.Name, o.RaftAddr, ErrExists)
			}
		}
		if id == 0 && token != "" && n.joinTokenUsedUp(token) {
			return 0, fmt.Errorf("admit: join token used up: %w", parley.ErrUnauthorized)
		}
		if id == 0 {
			return 0, fmt.Errorf("admit: rejected by registry: %w", parley.ErrInvalid)
		}
	}
	if err := n.addNonVoting(ctx, placement.RegistryShard, id, rec.RaftAddr); err != nil {
		return 0, fmt.Errorf("admit: %w", err)
	}
	return id, nil
}

// addNonVoting adds node as a non-voting member of shard unless it is a
// member already.
func (n *Node) addNonVoting(ctx context.Context, shard, node uint64, addr string) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		m, err := n.nh.SyncGetShardMembership(actx, shard)
		if err == nil {
			_, voter := m.Nodes[node]
			_, nonVoting := m.NonVotings[node]
			if voter || nonVoting {
				cancel()
				return nil
			}
			err = n.nh.SyncRequestAddNonVoting(actx, shard, node, addr, m.ConfigChangeID)
		}
		cancel()
		if err == nil {
			return nil
		}
		if !retryable(err) {
			return mapRaftError(err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("shard %d: add %d: %w: %w", shard, node, parley.ErrUnavailable, ctx.Err())
		case <-n.stop:
			return ErrClosed
		case <-time.After(50 * time.Millisecond):
		}
	}
}
