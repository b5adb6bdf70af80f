package chatcore_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/placement"
)

// TestBusyShardLeadersAreSpread loads the three shards one node leads and
// one shard of another, once the leader counts are even (3, 3, 3): the
// busy shards' leaders stand 3, 1, 0, which balancing the count of leaders
// alone leaves as it is. Balancing by load spreads them to 2, 1, 1.
func TestBusyShardLeadersAreSpread(t *testing.T) {
	const shards = 9
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Shards: shards})
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return leadersWithin(c.Nodes[0], shards, 0) })

	ring := placement.NewRing(placement.RoomShards(shards))
	roomOf := make(map[uint64]string)
	for _, r := range oneRoomPerShard("load", shards) {
		roomOf[ring.Shard(r)] = r
	}
	st, err := c.Nodes[0].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	led := make(map[uint64][]uint64) // node → the room shards it leads
	for _, s := range st.Shards {
		if s.ID != placement.RegistryShard {
			led[s.Leader] = append(led[s.Leader], s.ID)
		}
	}
	if len(led[1]) != 3 || len(led[2]) != 3 {
		t.Fatalf("leaders by node %v", led)
	}
	busy := append(slices.Clone(led[1]), led[2][0])
	var rooms []string
	for _, s := range busy {
		rooms = append(rooms, roomOf[s])
	}
	t.Logf("busy shards %v, in rooms %v", busy, rooms)

	load := startSendLoad(c.Nodes, 2, rooms, 20*time.Millisecond)
	defer load.Stop()
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return busySpread(c.Nodes[0], busy) })
	load.Stop()
	for _, err := range load.failed {
		t.Errorf("send: %v", err)
	}
	t.Logf("%d sends, the slowest took %v", load.sent, load.slowest)
}

// busySpread returns nil once every node leads one or two of the shards
// in busy (four of them over three nodes), as n's status shows.
func busySpread(n *chatcore.Node, busy []uint64) error {
	st, err := n.Status(context.Background())
	if err != nil {
		return err
	}
	count := make(map[uint64]int)
	for _, s := range st.Shards {
		for _, b := range busy {
			if s.ID == b {
				count[s.Leader]++
			}
		}
	}
	for _, rec := range st.Nodes {
		if c := count[rec.ID]; c < 1 || c > 2 {
			return fmt.Errorf("busy shards' leaders by node %v", count)
		}
	}
	return nil
}
