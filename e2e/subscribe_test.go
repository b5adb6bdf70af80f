package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// collector reads a Subscription's messages into a slice until it ends.
type collector struct {
	sub  *client.Subscription
	done chan struct{}

	mu   sync.Mutex
	msgs []parley.Message
}

// collect starts reading sub.
func collect(sub *client.Subscription) *collector {
	col := &collector{sub: sub, done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for m := range sub.C() {
			col.mu.Lock()
			col.msgs = append(col.msgs, m)
			col.mu.Unlock()
		}
	}()
	return col
}

// received returns a copy of what has arrived so far.
func (col *collector) received() []parley.Message {
	col.mu.Lock()
	defer col.mu.Unlock()
	return append([]parley.Message(nil), col.msgs...)
}

// waitCount waits until at least n messages have arrived.
func (col *collector) waitCount(t testing.TB, n int) {
	t.Helper()
	waitFor(t, settleTimeout, fmt.Sprintf("%d messages on the subscription", n), func() error {
		got := len(col.received())
		select {
		case <-col.done:
			if got < n {
				return permanent(fmt.Errorf("subscription ended after %d messages: %v", got, col.sub.Err()))
			}
		default:
		}
		if got < n {
			return fmt.Errorf("%d so far", got)
		}
		return nil
	})
}

// stop closes the subscription and returns everything it delivered.
func (col *collector) stop() []parley.Message {
	col.sub.Close()
	<-col.done
	return col.received()
}

// checkFeed checks that a subscription from seq from delivered exactly the
// messages of hist from seq from to the end: each once, in order, no gap,
// each as stored.
func checkFeed(t *testing.T, got, hist []parley.Message, from uint64) {
	t.Helper()
	want := hist[from-1:]
	for i := 0; i < len(got) && i < len(want); i++ {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.ID != w.ID || g.User != w.User || g.Text != w.Text || g.TS != w.TS {
			t.Fatalf("subscription's message %d: seq %d %s, want seq %d %s", i, g.Seq, describe(g), w.Seq, describe(w))
		}
	}
	if len(got) != len(want) {
		t.Fatalf("subscription from %d delivered %d messages, want %d (seqs %d..%d)", from, len(got), len(want), from, len(hist))
	}
	t.Logf("subscription delivered seqs %d..%d, each once and in order", from, len(hist))
}

// subscribeFromSeq subscribes from seq K while two clients send into the
// room: the subscription must deliver exactly K, K+1, ... up to the room's
// final message.
func subscribeFromSeq(t *testing.T, c *Cluster) {
	const (
		room    = "sub-from"
		from    = 10
		before  = 30
		perUser = 100
	)
	led := &ledger{}
	w := c.Dial(t, "subwriter")
	led.mustSend(t, w, "subwriter", room, "pre", before)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reader := c.DialVia(t, "subreader", c.Nodes[1])
	sub, err := reader.Subscribe(ctx, room, from)
	if err != nil {
		t.Fatalf("subscribe from %d: %v", from, err)
	}
	col := collect(sub)

	var wg sync.WaitGroup
	for g := 0; g < 2; g++ {
		user := fmt.Sprintf("subsender%d", g)
		cl := c.DialVia(t, user, c.Nodes[g*2])
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perUser; i++ {
				sctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
				led.send(sctx, cl, user, room, fmt.Sprintf("%s-%d", user, i))
				cancel()
			}
		}()
	}
	wg.Wait()
	reportFailures(t, led)
	hist := checkRoom(t, c, c.Nodes, room, led.snapshot())
	col.waitCount(t, len(hist)-from+1)
	checkFeed(t, col.stop(), hist, from)
}

// subscriberNodeKilled kills -9 the node a subscriber is connected to while
// clients send into the room: the subscriber's client resumes on another
// node, and the subscription still delivers every seq exactly once, in
// order.
func subscriberNodeKilled(t *testing.T, c *Cluster) {
	const room = "sub-kill"
	led := &ledger{}
	w := c.Dial(t, "killwriter")
	led.mustSend(t, w, "killwriter", room, "pre", 20)

	victim := c.Nodes[1]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Connected to the victim only at first; the SDK learns the other
	// nodes from the welcome.
	reader := c.Dial(t, "killreader", victim.Client)
	sub, err := reader.Subscribe(ctx, room, 1)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	col := collect(sub)

	start := time.Now()
	ld := startLoad(t, c, led, "subkill", []string{room}, 2)
	ld.waitAcked(t, room, start, 40)
	col.waitCount(t, 60)
	killedAt := time.Now()
	c.Kill(t, victim)
	ld.waitAcked(t, room, killedAt, ackedDuringFault)
	ld.Stop()
	reportFailures(t, led)
	// Before the victim is back, the subscription must have resumed on
	// another node and delivered what was sent after the kill.
	col.waitCount(t, int(lastAckedSeq(led, room)))
	if got := reader.Node().Addr; got == victim.Client {
		t.Errorf("the subscriber's client reports the killed node %s", got)
	}
	t.Logf("the subscriber resumed on %s", reader.Node().Addr)

	c.Restart(t, victim)
	c.WaitFormed(t)
	hist := checkRoom(t, c, c.Nodes, room, led.snapshot())
	col.waitCount(t, len(hist))
	checkFeed(t, col.stop(), hist, 1)
}

// lastAckedSeq returns the highest acknowledged seq in room.
func lastAckedSeq(led *ledger, room string) uint64 {
	var last uint64
	for _, r := range led.snapshot() {
		if r.Acked && r.Room == room {
			last = max(last, r.Seq)
		}
	}
	return last
}
