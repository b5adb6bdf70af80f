package chatcore

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley/placement"
)

// ShardStatus is one Raft group as this node sees it.
type ShardStatus struct {
	ID        uint64
	Leader    uint64 // 0 if unknown
	Term      uint64
	Replicas  []uint64 // voting replicas
	NonVoting []uint64
}

// Status describes the cluster's nodes and shards as this node sees them.
type Status struct {
	Nodes  []NodeRecord
	Shards []ShardStatus
}

// Status reports every node in the registry and, for every shard, its
// leader, term and membership.
func (n *Node) Status(ctx context.Context) (Status, error) {
	nodes, err := n.Nodes()
	if err != nil {
		return Status{}, err
	}
	info, found, err := n.clusterInfo()
	if err != nil {
		return Status{}, err
	}
	shards := []uint64{placement.RegistryShard}
	if found {
		shards = append(shards, placement.RoomShards(info.Shards)...)
	}
	out := make([]ShardStatus, len(shards))
	var wg sync.WaitGroup
	for i, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = n.shardStatus(ctx, s)
		}()
	}
	wg.Wait()
	return Status{Nodes: nodes, Shards: out}, nil
}

func (n *Node) shardStatus(ctx context.Context, shard uint64) ShardStatus {
	st := ShardStatus{ID: shard}
	if leader, term, ok, err := n.nh.GetLeaderID(shard); err == nil {
		st.Term = term
		if ok {
			st.Leader = leader
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if m, err := n.nh.SyncGetShardMembership(ctx, shard); err == nil {
		for id := range m.Nodes {
			st.Replicas = append(st.Replicas, id)
		}
		for id := range m.NonVotings {
			st.NonVoting = append(st.NonVoting, id)
		}
		slices.Sort(st.Replicas)
		slices.Sort(st.NonVoting)
	}
	return st
}
