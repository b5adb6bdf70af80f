package chatcore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/placement"
)

// A node stopped while the leaders are being balanced gets no leadership
// until it is back: a transfer to it would stop its shard taking proposals
// until the transfer timed out, and those a follower forwarded would wait
// out a whole attempt timeout. Before leadership went only to nodes fit to
// lead, balance kept handing shards to a dead node for the 4 s its last
// heartbeat took to count as old.
func TestNoLeadershipToAStoppedNode(t *testing.T) {
	const shards = 8
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Shards: shards})
	first := c.Nodes[0]
	// A fresh cluster's first node leads every shard, and balance hands
	// them out one after another: wait until it has begun.
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		if len(chatcore.TransfersRequested(first)) == 0 {
			return fmt.Errorf("node %d has not balanced a leader yet", first.ID())
		}
		return nil
	})
	// Stop the node the next transfer of the plan goes to, once the
	// heartbeats report the first.
	var plan []placement.Transfer
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		st, err := first.Status(context.Background())
		if err != nil {
			return err
		}
		for _, n := range st.Nodes {
			if n.ID == first.ID() && n.Leaders == shards {
				return fmt.Errorf("the first transfer is not reported yet")
			}
		}
		plan = leaderPlan(st)
		return nil
	})
	victim := 2
	for _, tr := range plan {
		if tr.From == first.ID() {
			for i, n := range c.Nodes {
				if n.ID() == tr.To {
					victim = i
				}
			}
			break
		}
	}
	stopped := c.Nodes[victim].ID()
	stoppedAt := time.Now()
	c.Stop(victim)

	// Once the others count it down, the old code left it alone too.
	var running []*chatcore.Node
	for _, n := range c.Nodes {
		if n != nil {
			running = append(running, n)
		}
	}
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		for _, n := range running {
			if n.NodeUp(stopped) {
				return fmt.Errorf("node %d still counts node %d up", n.ID(), stopped)
			}
		}
		return nil
	})
	for _, n := range running {
		for _, r := range chatcore.TransfersRequested(n) {
			if r.To == stopped && r.At.After(stoppedAt) {
				t.Errorf("node %d handed shard %d to the stopped node %d, %v after it stopped (%s)",
					n.ID(), r.Shard, stopped, r.At.Sub(stoppedAt).Round(time.Millisecond), r.Reason)
			}
		}
	}
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		st, err := first.Status(context.Background())
		if err != nil {
			return err
		}
		for _, s := range st.Shards {
			if s.Leader == 0 || s.Leader == stopped {
				return fmt.Errorf("shard %d is led by %d", s.ID, s.Leader)
			}
		}
		return nil
	})

	// Back, it gets its share of the leaders again.
	c.Restart(victim)
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return leadersBalanced(first, shards) })
}

// leaderPlan is the leader balance plan of st's room shards over its nodes.
func leaderPlan(st chatcore.Status) []placement.Transfer {
	shards := make(map[uint64]placement.ShardLeader)
	for _, s := range st.Shards[1:] {
		shards[s.ID] = placement.ShardLeader{Leader: s.Leader, Voters: s.Replicas}
	}
	var nodes []uint64
	for _, n := range st.Nodes {
		nodes = append(nodes, n.ID)
	}
	return placement.BalanceLeaders(shards, nodes)
}

// Leaders are still balanced under a steady load of sends that followers
// forward, now that a transfer waits for a quiet moment of its shard, and
// no send fails. A transfer that did not take effect (its target skipped
// the campaign, or had not caught up) shows as a second transfer of the
// same shard from the same leader in the same term; the test logs those
// rather than failing on them, as a target starved of CPU can still miss a
// quiet moment's transfer (seen once here, under the race detector, with
// 7,683 sends during the balancing).
func TestLeaderBalanceUnderLoad(t *testing.T) {
	const shards = 6
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Shards: shards})
	rooms := oneRoomPerShard("load", shards)

	// Senders on the two followers of a fresh cluster, each paced: a
	// steady stream of forwarded proposals into every shard.
	load := startSendLoad(c.Nodes[1:], 16, rooms, 10*time.Millisecond)
	defer load.Stop()
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return leadersBalanced(c.Nodes[0], shards) })
	load.Stop()

	t.Logf("%d sends during the balancing", load.sent)
	for _, err := range load.failed {
		t.Errorf("send: %v", err)
	}
	for _, n := range c.Nodes {
		type key struct{ shard, term uint64 }
		made := make(map[key]int)
		for _, r := range chatcore.TransfersRequested(n) {
			made[key{r.Shard, r.Term}]++
		}
		for k, count := range made {
			if count > 1 {
				t.Logf("node %d asked %d times to hand shard %d over in term %d: a transfer did not take effect", n.ID(), count, k.shard, k.term)
			}
		}
	}
}
