package chatcore_test

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/placement"
)

// oneRoomPerShard returns one room named prefix-N on each of a cluster's
// room shards.
func oneRoomPerShard(prefix string, shards int) []string {
	ring := placement.NewRing(placement.RoomShards(shards))
	var rooms []string
	seen := make(map[uint64]bool)
	for i := 0; len(seen) < shards; i++ {
		room := fmt.Sprintf("%s-%d", prefix, i)
		if s := ring.Shard(room); !seen[s] {
			seen[s] = true
			rooms = append(rooms, room)
		}
	}
	return rooms
}

// leadersBalanced returns nil once n's status shows every node leading
// its share of the room shards, ± 1.
func leadersBalanced(n *chatcore.Node, shards int) error { return leadersWithin(n, shards, 1) }

// leadersWithin returns nil once n's status shows every node leading its
// share of the room shards, ± slack.
func leadersWithin(n *chatcore.Node, shards int, slack float64) error {
	st, err := n.Status(context.Background())
	if err != nil {
		return err
	}
	ideal := float64(shards) / float64(len(st.Nodes))
	for _, rec := range st.Nodes {
		if math.Abs(float64(rec.Leaders)-ideal) > slack {
			return fmt.Errorf("node %d leads %d shards, want %.1f ± %g", rec.ID, rec.Leaders, ideal, slack)
		}
	}
	return nil
}

// sendLoad is senders sending into rooms in turn until stopped, and what
// became of their sends.
type sendLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	mu      sync.Mutex
	sent    int
	failed  []error
	slowest time.Duration
}

// startSendLoad starts perNode senders on each of nodes. With pace > 0
// each sends once per pace; with 0 each sends again as soon as its last
// send is acknowledged (a closed loop).
func startSendLoad(nodes []*chatcore.Node, perNode int, rooms []string, pace time.Duration) *sendLoad {
	l := &sendLoad{stop: make(chan struct{})}
	for _, n := range nodes {
		for w := range perNode {
			l.wg.Go(func() { l.sender(n, w, rooms, pace) })
		}
	}
	return l
}

func (l *sendLoad) sender(n *chatcore.Node, w int, rooms []string, pace time.Duration) {
	var tick <-chan time.Time
	if pace > 0 {
		t := time.NewTicker(pace)
		defer t.Stop()
		tick = t.C
	}
	for i := 0; ; i++ {
		if tick != nil {
			select {
			case <-l.stop:
				return
			case <-tick:
			}
		} else {
			select {
			case <-l.stop:
				return
			default:
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		_, err := n.Send(ctx, chatcore.SendParams{Room: rooms[(w+i)%len(rooms)], User: "loader", ID: parley.NewMsgID(time.Now()), Text: "x"})
		took := time.Since(t0)
		cancel()
		l.mu.Lock()
		l.sent++
		l.slowest = max(l.slowest, took)
		if err != nil {
			l.failed = append(l.failed, err)
		}
		l.mu.Unlock()
	}
}

// Stop stops the senders and waits for them; it may be called again.
func (l *sendLoad) Stop() {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
	})
}
