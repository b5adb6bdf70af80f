package chatcore

import (
	"fmt"

	"github.com/lni/dragonboat/v4"
)

// Settled shards. Checking a led shard's membership against its placement
// takes a linearizable read of the membership (a ReadIndex round with every
// follower), every host round, for every shard. That alone kept idle
// shards from ever quiescing (a ReadIndex counts as traffic) and cost an
// idle node a share of its CPU. So once a shard is found settled, it is
// checked again only when something the check depends on changes: the
// local replica's applied membership (its config-change index), the
// shard's term, its placement in the registry, or the set of down nodes.
// Every membership change goes through the config-change index, and any
// change request is still guarded by it, so skipping a check loses no
// step: a change lands in the local membership and the next round sees it.

// settledKey is what a settled shard's check depended on.
type settledKey struct {
	configChange, term uint64
	placement, down    string
}

// localConfigChanges returns the config-change index of the local replica
// of every shard, as applied here (no Raft round).
func (n *Node) localConfigChanges() map[uint64]uint64 {
	out := make(map[uint64]uint64)
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return out
	}
	for _, s := range info.ShardInfoList {
		if !s.Pending {
			out[s.ShardID] = s.ConfigChangeIndex
		}
	}
	return out
}

// settledKeyOf returns the key of shard's check now, and false if the
// local replica's membership or the shard's placement is not known.
func (n *Node) settledKeyOf(shard uint64, cc map[uint64]uint64, down []uint64) (settledKey, bool) {
	index, ok := cc[shard]
	if !ok {
		return settledKey{}, false
	}
	p, err := n.placement(shard)
	if err != nil {
		return settledKey{}, false
	}
	_, term, valid, err := n.nh.GetLeaderID(shard)
	if err != nil || !valid {
		return settledKey{}, false
	}
	// fmt prints maps sorted by key, so equal placements print equal.
	return settledKey{configChange: index, term: term, placement: fmt.Sprint(p.Voters, p.Replicas), down: fmt.Sprint(down)}, true
}

// settled reports whether shard was found settled with key.
func (m *moveState) settled(shard uint64, key settledKey) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.settledAt[shard]
	return ok && k == key
}

// checking records that shard is being checked with key (ok), or with no
// key known (!ok), and forgets that it was settled.
func (m *moveState) checking(shard uint64, key settledKey, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.settledAt, shard)
	if ok {
		m.checkingKey[shard] = key
	} else {
		delete(m.checkingKey, shard)
	}
}

// settledNow records that the check of shard found it settled.
func (m *moveState) settledNow(shard uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if k, ok := m.checkingKey[shard]; ok {
		m.settledAt[shard] = k
		delete(m.checkingKey, shard)
	}
}
