package chatcore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// A room shard left idle quiesces: its followers stop running their
// election timers, and a send does not wake them. When the node leading it
// then stops, the survivors must wake the shard themselves and elect a new
// leader; without that, a send through a survivor was forwarded to the
// dead leader again and again and never committed.
func TestQuiescedShardFailsOver(t *testing.T) {
	const shards = 4
	c := chatcoretest.StartCluster(t, 3, chatcoretest.Options{Shards: shards})
	sender := c.Nodes[0]
	// Let the leader balancing of the fresh cluster finish: each transfer
	// is traffic that keeps a shard awake.
	chatcoretest.WaitFor(t, 120*time.Second, func() error { return leadersBalanced(sender, shards) })
	// A room whose shard another node leads.
	var room string
	var shard, leader uint64
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		st, err := sender.Status(context.Background())
		if err != nil {
			return err
		}
		leaders := make(map[uint64]uint64)
		for _, s := range st.Shards {
			leaders[s.ID] = s.Leader
		}
		for i := range 64 {
			r := fmt.Sprintf("idle-%d", i)
			s, err := sender.RoomShard(r)
			if err != nil {
				return err
			}
			if l := leaders[s]; l != 0 && l != sender.ID() {
				room, shard, leader = r, s, l
				return nil
			}
		}
		return fmt.Errorf("every room shard is led by node %d", sender.ID())
	})
	send := func(ctx context.Context) error {
		_, err := sender.Send(ctx, chatcore.SendParams{Room: room, User: "idler", ID: parley.NewMsgID(time.Now()), Text: "x"})
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := send(ctx); err != nil {
		t.Fatalf("send before the stop: %v", err)
	}
	// Dragonboat has no event for quiesce: the shard has to stay idle for
	// its threshold, so the test lets that time pass (a wait for the
	// feature's own clock, not a synchronisation with another goroutine).
	idle := time.NewTimer(chatcore.QuiesceAfter + 2*time.Second)
	<-idle.C
	for i, n := range c.Nodes {
		if n != nil && n.ID() == leader {
			c.Stop(i)
		}
	}
	if err := send(ctx); err != nil {
		t.Fatalf("send into shard %d after its leader, node %d, stopped: %v", shard, leader, err)
	}
	chatcoretest.WaitFor(t, 30*time.Second, func() error {
		st, err := sender.Status(context.Background())
		if err != nil {
			return err
		}
		for _, s := range st.Shards {
			if s.ID == shard && (s.Leader == 0 || s.Leader == leader) {
				return fmt.Errorf("shard %d is led by %d", s.ID, s.Leader)
			}
		}
		return nil
	})
}
