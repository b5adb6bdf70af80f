package bench

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/client"
)

// FanoutParams shapes the fanout scenario.
type FanoutParams struct {
	// Subscribers is the number of subscribing clients, spread over every
	// node, all in one room.
	Subscribers int `json:"subscribers"`
	// Senders is the number of clients sending into the room as fast as
	// their acks come back.
	Senders int `json:"senders"`
	// Payload is the message size in bytes.
	Payload int `json:"payload_bytes"`
	// Warmup runs before the measuring window.
	Warmup time.Duration `json:"-"`
	// Duration is the measuring window.
	Duration time.Duration `json:"-"`
}

// FanoutResult is the delivery rate of one busy room to many subscribers.
type FanoutResult struct {
	Params    FanoutParams `json:"params"`
	DurationS float64      `json:"duration_s"`
	// DeliveriesPerSec counts messages handed to subscribers per second,
	// over all subscribers, during the measuring window.
	DeliveriesPerSec float64 `json:"deliveries_per_sec"`
	// MsgPerSec is the room's committed messages per second.
	MsgPerSec float64 `json:"msg_per_sec"`
	Ack       Latency `json:"ack_latency"`
	// Complete is how many subscribers received every acknowledged
	// message, in order with no gap and no duplicate, within the drain
	// time; Gaps and Dups count their faults.
	Complete int   `json:"complete"`
	Gaps     int64 `json:"gaps"`
	Dups     int64 `json:"dups"`
	// DrainS is how long the slowest subscriber took, after the senders
	// stopped, to receive the last acknowledged message.
	DrainS float64 `json:"drain_s"`
	CPU    CPU     `json:"cpu_percent,omitempty"`
}

// fanSub follows one subscriber's feed.
type fanSub struct {
	mu   sync.Mutex
	last uint64
	gaps int64
	dups int64
}

// RunFanout sends into one room as fast as p.Senders clients can while
// p.Subscribers clients, spread over the nodes, follow it.
func RunFanout(ctx context.Context, c *Cluster, p FanoutParams) (FanoutResult, error) {
	res := FanoutResult{Params: p, DurationS: p.Duration.Seconds()}
	room := "fanout"
	subs, err := c.DialMany(ctx, "fsub", p.Subscribers, c.Nodes)
	if err != nil {
		return res, fmt.Errorf("fanout: %w", err)
	}
	defer closeAll(subs)
	senders, err := c.DialMany(ctx, "fsnd", p.Senders, c.Nodes)
	if err != nil {
		return res, fmt.Errorf("fanout: %w", err)
	}
	defer closeAll(senders)

	begin := time.Now()
	from, to := begin.Add(p.Warmup), begin.Add(p.Warmup+p.Duration)
	var delivered atomic.Int64
	state := make([]*fanSub, len(subs))
	sctx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stopSubs()
	var feeds []*client.Subscription
	for i, cl := range subs {
		s, err := cl.Subscribe(sctx, room, 0)
		if err != nil {
			return res, fmt.Errorf("fanout: %w", err)
		}
		feeds = append(feeds, s)
		st := &fanSub{}
		state[i] = st
		wg.Go(func() {
			for m := range s.C() {
				now := time.Now()
				if now.After(from) && now.Before(to) {
					delivered.Add(1)
				}
				st.mu.Lock()
				switch {
				case st.last == 0 || m.Seq == st.last+1:
				case m.Seq <= st.last:
					st.dups++
				default:
					st.gaps++
				}
				st.last = max(st.last, m.Seq)
				st.mu.Unlock()
			}
		})
	}
	var lastSeq atomic.Uint64
	text := payload(p.Payload)
	out := runClosedLoop(ctx, p.Senders, 1, p.Warmup, p.Duration, c.pids(), func(ctx context.Context, w, _ int) error {
		r, err := senders[w].Send(ctx, room, text)
		if err == nil {
			for {
				old := lastSeq.Load()
				if r.Seq <= old || lastSeq.CompareAndSwap(old, r.Seq) {
					break
				}
			}
		}
		return err
	})
	stopAt := time.Now()
	res.MsgPerSec, res.Ack, res.CPU = round3(out.msgPerSec()), out.lat.Summary(), out.cpu
	res.DeliveriesPerSec = round3(float64(delivered.Load()) / p.Duration.Seconds())
	want := lastSeq.Load()
	poll(ctx, drainTimeout, "fanout drained", func(context.Context) error {
		for _, st := range state {
			st.mu.Lock()
			last := st.last
			st.mu.Unlock()
			if last < want {
				return fmt.Errorf("a subscriber is at %d of %d", last, want)
			}
		}
		return nil
	})
	res.DrainS = round3(time.Since(stopAt).Seconds())
	for _, st := range state {
		st.mu.Lock()
		res.Gaps += st.gaps
		res.Dups += st.dups
		if st.last >= want && st.gaps == 0 && st.dups == 0 {
			res.Complete++
		}
		st.mu.Unlock()
	}
	for _, f := range feeds {
		if err := f.Err(); err != nil {
			return res, fmt.Errorf("fanout: %w", err)
		}
	}
	return res, ctx.Err()
}
