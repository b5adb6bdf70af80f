package chatcore

import (
	"slices"
	"time"
)

// HostsRoom reports whether a replica of room's shard runs on this node:
// RoomHosts's first answer, without reading the registry, for the path
// every request takes.
func (n *Node) HostsRoom(room string) (bool, error) {
	shard, err := n.RoomShard(room)
	if err != nil {
		return false, err
	}
	return n.isHosted(shard), nil
}

// RoomHosts tells where room's shard lives: whether this node runs a
// replica of it, and the nodes that do (by the registry), the ones to ask
// first first: the shard's leader as last reported, then the other voters,
// then non-voting members; nodes that are down come last. A node that does
// not host a room serves it by forwarding to these (the daemon does).
func (n *Node) RoomHosts(room string) (local bool, hosts []NodeRecord, err error) {
	shard, err := n.RoomShard(room)
	if err != nil {
		return false, nil, err
	}
	_, local = n.localReplica(shard)
	p, err := n.placement(shard)
	if err != nil {
		return local, nil, err
	}
	nodes, err := n.Nodes()
	if err != nil {
		return local, nil, err
	}
	now := time.Now()
	var leader, term uint64
	rank := func(rec NodeRecord) int {
		r := 0
		switch {
		case rec.ID == leader:
		case slices.Contains(p.Voters, rec.ID):
			r = 1
		default:
			r = 2
		}
		if n.isDown(rec.ID, now) {
			r += 3
		}
		return r
	}
	for _, rec := range nodes {
		for _, lr := range rec.Leads {
			if lr.Shard == shard && lr.Term >= term {
				leader, term = rec.ID, lr.Term
			}
		}
	}
	for _, rec := range nodes {
		if _, ok := p.Replicas[rec.ID]; ok && rec.ID != n.id.NodeID {
			hosts = append(hosts, rec)
		}
	}
	slices.SortStableFunc(hosts, func(a, b NodeRecord) int { return rank(a) - rank(b) })
	return local, hosts, nil
}
