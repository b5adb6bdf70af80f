package chatcore_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/placement"
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
	ring := placement.NewRing(placement.RoomShards(shards))
	var rooms []string
	seen := make(map[uint64]bool)
	for i := 0; len(seen) < shards; i++ {
		room := fmt.Sprintf("busy-%d", i)
		if s := ring.Shard(room); !seen[s] {
			seen[s] = true
			rooms = append(rooms, room)
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var (
		sent    int
		failed  []error
		slowest time.Duration
	)
	for _, n := range c.Nodes {
		for w := range 4 * shards {
			wg.Go(func() {
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					t0 := time.Now()
					_, err := n.Send(ctx, chatcore.SendParams{Room: rooms[(w+i)%len(rooms)], User: "loader", ID: parley.NewMsgID(time.Now()), Text: "x"})
					took := time.Since(t0)
					cancel()
					mu.Lock()
					sent++
					slowest = max(slowest, took)
					if err != nil {
						failed = append(failed, err)
					}
					mu.Unlock()
				}
			})
		}
	}
	stopLoad := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	defer stopLoad()

	chatcoretest.WaitFor(t, 120*time.Second, func() error {
		st, err := c.Nodes[0].Status(context.Background())
		if err != nil {
			return err
		}
		ideal := float64(shards) / float64(len(st.Nodes))
		for _, n := range st.Nodes {
			if math.Abs(float64(n.Leaders)-ideal) > 1 {
				return fmt.Errorf("node %d leads %d shards, want %.1f ± 1", n.ID, n.Leaders, ideal)
			}
		}
		return nil
	})
	stopLoad()

	// Not an assertion on time: what the balancing cost the senders.
	t.Logf("%d sends during the balancing, the slowest took %v", sent, slowest)
	for _, err := range failed {
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
