package chatcore_test

import (
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// Leaders of shards that never have a quiet moment still get balanced: the
// senders here send again as soon as their last send is acknowledged, from
// every node into every shard, so no shard's log is ever still for a
// heartbeat on its own. Before fences, leader balancing waited for such a
// moment and never moved a busy shard: every shard stayed on the node that
// won its first election.
func TestLeadersBalanceUnderClosedLoopLoad(t *testing.T) {
	const shards = 6
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Shards: shards})
	rooms := oneRoomPerShard("busy", shards)

	load := startSendLoad(c.Nodes, 4*shards, rooms, 0)
	defer load.Stop()
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return leadersBalanced(c.Nodes[0], shards) })
	load.Stop()

	// Not an assertion on time: what the balancing cost the senders.
	t.Logf("%d sends during the balancing, the slowest took %v", load.sent, load.slowest)
	for _, err := range load.failed {
		t.Errorf("send: %v", err)
	}
	moved, putOff := 0, 0
	for _, n := range c.Nodes {
		moved += len(chatcore.TransfersRequested(n))
		putOff += chatcore.TransfersPutOff(n)
	}
	t.Logf("%d transfers asked for, %d put off for want of a quiet moment", moved, putOff)
	if moved == 0 {
		t.Errorf("the leaders were balanced without a transfer: the load did not test fences")
	}
}
