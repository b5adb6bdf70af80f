package e2e

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
)

// sendTimeout bounds one send of a load worker. The SDK retries a send
// across failovers until its context ends, so a send that fails within it
// means the cluster or the SDK did not recover.
const sendTimeout = 45 * time.Second

// load is a set of concurrent senders, each with its own SDK client and
// user, sending into a few rooms round robin until stopped. Every send and
// its outcome goes into the ledger.
type load struct {
	led  *ledger
	stop chan struct{}
	wg   sync.WaitGroup
}

// startLoad starts workers senders over rooms. Worker g's client knows
// every node but is connected to node g mod 3 first, so the load reaches
// the cluster through every node.
func startLoad(t *testing.T, c *Cluster, led *ledger, prefix string, rooms []string, workers int) *load {
	t.Helper()
	l := &load{led: led, stop: make(chan struct{})}
	for g := 0; g < workers; g++ {
		user := fmt.Sprintf("%s%d", prefix, g)
		cl := c.DialVia(t, user, c.Nodes[g%len(c.Nodes)])
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			l.work(cl, user, prefix, g, rooms)
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

// work sends until the load is stopped. A send in flight when Stop is
// called runs to its end, so that its outcome is known.
func (l *load) work(cl *client.Client, user, prefix string, g int, rooms []string) {
	for i := 0; ; i++ {
		select {
		case <-l.stop:
			return
		default:
		}
		room := rooms[(g+i)%len(rooms)]
		ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
		l.led.send(ctx, cl, user, room, fmt.Sprintf("%s-w%d-m%d", prefix, g, i))
		cancel()
	}
}

// Stop stops the senders and waits until their last sends have returned.
// It may be called more than once.
func (l *load) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// waitAcked waits until at least n sends to room (any room if "") that
// started at or after since have been acknowledged.
func (l *load) waitAcked(t testing.TB, room string, since time.Time, n int) {
	t.Helper()
	what := fmt.Sprintf("%d acknowledged sends to %q since %s", n, room, since.Format("15:04:05.000"))
	waitFor(t, settleTimeout, what, func() error {
		if got := l.led.ackedSince(room, since); got < n {
			acked, failed := l.led.counts()
			return fmt.Errorf("%d so far (%d acknowledged, %d failed in all)", got, acked, failed)
		}
		return nil
	})
}

// reportFailures fails the test for every send that returned an error: the
// SDK retries through failovers within sendTimeout, so none should.
func reportFailures(t *testing.T, led *ledger) {
	t.Helper()
	fails := led.failures()
	if len(fails) == 0 {
		return
	}
	var errs []error
	for _, r := range fails {
		errs = append(errs, fmt.Errorf("send %s %q to %s at %s: %v", r.ID, r.Text, r.Room, r.Start.Format("15:04:05.000"), r.Err))
	}
	t.Errorf("%d send(s) failed although the SDK retries across failovers:\n%s", len(fails), joinErrs(errs, 10))
}
