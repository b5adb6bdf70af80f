package chatcore

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/parleychat/parley/placement"
)

// ShardStatus is one Raft group as this node sees it. Node ids throughout.
type ShardStatus struct {
	ID uint64
	// Leader is the node that leads the shard, 0 if unknown or down.
	Leader    uint64
	Term      uint64
	Replicas  []uint64 // voting replicas
	NonVoting []uint64
	// Wanted is the voters the placement wants; it differs from Replicas
	// while a move is in progress.
	Wanted []uint64
}

// Moving reports whether the shard's membership is still on its way to
// the placement: voters not the wanted ones, or a non-voting member.
func (s ShardStatus) Moving() bool {
	return len(s.Wanted) > 0 && !sameSet(s.Replicas, s.Wanted) || len(s.NonVoting) > 0
}

// NodeStatus is one node of the registry as this node sees it.
type NodeStatus struct {
	NodeRecord
	// Up: its heartbeat was heard lately (always true for this node).
	Up bool
	// Voters and Leaders count the room shards it holds a vote in, and
	// leads.
	Voters, Leaders int
}

// Status describes the cluster's nodes and shards as this node sees them.
type Status struct {
	Nodes  []NodeStatus
	Shards []ShardStatus
}

// Status reports every node in the registry (but removed ones) and, for
// every shard, its leader, term, membership and wanted voters. Shards
// hosted here are read from the local replica; others from what their
// leader reported at its latest heartbeat. A leader on a node that is down
// is reported as none.
func (n *Node) Status(ctx context.Context) (Status, error) {
	recs, err := n.Nodes()
	if err != nil {
		return Status{}, err
	}
	info, found, err := n.clusterInfo()
	if err != nil {
		return Status{}, err
	}
	now := time.Now()
	n.live.observe(recs, now)
	shards := []uint64{placement.RegistryShard}
	if found {
		shards = append(shards, placement.RoomShards(info.Shards)...)
	}
	reports := make(map[uint64]ShardReport)
	reporter := make(map[uint64]uint64)
	for _, rec := range recs {
		if n.isDown(rec.ID, now) {
			continue
		}
		for _, r := range rec.Leads {
			if old, ok := reports[r.Shard]; !ok || r.Term > old.Term {
				reports[r.Shard], reporter[r.Shard] = r, rec.ID
			}
		}
	}
	out := make([]ShardStatus, len(shards))
	var wg sync.WaitGroup
	for i, s := range shards {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = n.shardStatus(ctx, s, reports[s], reporter[s])
			if out[i].Leader != 0 && n.isDown(out[i].Leader, now) {
				out[i].Leader = 0
			}
		}()
	}
	wg.Wait()
	var nodes []NodeStatus
	for _, rec := range recs {
		if rec.State == NodeRemoved {
			continue
		}
		ns := NodeStatus{NodeRecord: rec, Up: !n.isDown(rec.ID, now)}
		if rec.State == NodeActive && rec.ID != n.id.NodeID && n.live.silentFor(rec.ID, now) > info.DeadAfterOrDefault() {
			ns.State = NodeDead
		}
		ns.Leads = nil
		for _, s := range out[1:] {
			if slices.Contains(s.Replicas, rec.ID) {
				ns.Voters++
			}
			if s.Leader == rec.ID {
				ns.Leaders++
			}
		}
		nodes = append(nodes, ns)
	}
	return Status{Nodes: nodes, Shards: out}, nil
}

// shardStatus reads shard from the local replica if there is one, else
// from its leader's report.
func (n *Node) shardStatus(ctx context.Context, shard uint64, report ShardReport, reporter uint64) ShardStatus {
	st := ShardStatus{ID: shard}
	p, _ := n.placement(shard)
	if shard != placement.RegistryShard {
		// The registry's other nodes follow it as non-voting members for
		// good: no move to show.
		st.Wanted = slices.Sorted(slices.Values(p.Voters))
	}
	_, hosted := n.localReplica(shard)
	if !hosted {
		st.Leader, st.Term = reporter, report.Term
		st.Replicas, st.NonVoting = report.Voters, report.NonVoting
		return st
	}
	nodeOf := func(rid uint64) uint64 {
		if shard == placement.RegistryShard {
			return registryNodeOf(rid)
		}
		return p.nodeOf(rid)
	}
	if leader, term, ok, err := n.nh.GetLeaderID(shard); err == nil {
		st.Term = term
		if ok {
			st.Leader = nodeOf(leader)
		}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if m, err := n.nh.SyncGetShardMembership(ctx, shard); err == nil {
		for id := range m.Nodes {
			st.Replicas = append(st.Replicas, nodeOf(id))
		}
		for id := range m.NonVotings {
			st.NonVoting = append(st.NonVoting, nodeOf(id))
		}
	} else {
		// No Raft round in time (a leadership transfer, say): the voters
		// as the local replica last applied them, rather than none.
		for id := range n.localVoters(shard) {
			st.Replicas = append(st.Replicas, nodeOf(id))
		}
	}
	slices.Sort(st.Replicas)
	slices.Sort(st.NonVoting)
	return st
}

// localVoters returns the voting replicas of shard as the local replica
// last applied its membership (no Raft round), nil if it is not known.
func (n *Node) localVoters(shard uint64) map[uint64]string {
	info := n.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	if info == nil {
		return nil
	}
	for _, si := range info.ShardInfoList {
		if si.ShardID == shard && !si.Pending {
			return si.Replicas
		}
	}
	return nil
}

// nodeRecord reads one node's registry record from the local replica.
func (n *Node) nodeRecord(id uint64) (NodeRecord, bool, error) {
	var rec NodeRecord
	found, err := getCBOR(n.db.db, nodeKey(id), &rec)
	if err != nil {
		return rec, false, fmt.Errorf("registry: %w", err)
	}
	return rec, found, nil
}
