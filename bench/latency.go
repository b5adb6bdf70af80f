package bench

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley"
)

// LatencyParams shapes the latency scenario.
type LatencyParams struct {
	// Rate is the offered load in messages per second.
	Rate float64 `json:"rate"`
	// Rooms is the number of rooms the messages spread over.
	Rooms int `json:"rooms"`
	// Senders is the number of sending clients; Workers the goroutines
	// sharing them, enough that a send never waits for a free one.
	Senders int `json:"senders"`
	Workers int `json:"workers"`
	// Payload is the message size in bytes.
	Payload int `json:"payload_bytes"`
	// Warmup runs before the measuring window.
	Warmup time.Duration `json:"-"`
	// Duration is the measuring window.
	Duration time.Duration `json:"-"`
	// LeaderWait bounds the wait, before the load, for the leaders of the
	// rooms' shards to be spread over the nodes (see
	// Cluster.WaitLeadersBalanced); 0 does not wait.
	LeaderWait time.Duration `json:"-"`
}

// LatencyResult is the time from send to delivery at a subscriber
// connected to another node than the senders.
type LatencyResult struct {
	Params    LatencyParams `json:"params"`
	DurationS float64       `json:"duration_s"`
	// SenderNodes and SubscriberNode name where the clients connect.
	SenderNodes    []string `json:"sender_nodes"`
	SubscriberNode string   `json:"subscriber_node"`
	// Deliver is send → delivery at the subscriber, measured from each
	// message's scheduled send time.
	Deliver Latency `json:"send_to_deliver"`
	// DeliverBySecond is Deliver for each second of the window, by
	// scheduled send time, so that a slow stretch shows when it began.
	DeliverBySecond []TimeSlice `json:"send_to_deliver_by_second"`
	// WebDeliver is send → delivery at a subscriber on the same node's
	// WebSocket (the web client's path), for the same messages.
	WebDeliver Latency `json:"web_send_to_deliver"`
	// Ack is send → acknowledgement at the sender.
	Ack Latency `json:"send_to_ack"`
	// Offered, Acked and Delivered count the measuring window's messages;
	// Undelivered were acknowledged but never delivered within the drain
	// time; Dropped found every worker busy.
	Offered   int64 `json:"offered"`
	Acked     int64 `json:"acked"`
	Delivered int64 `json:"delivered"`
	// WebDelivered counts the window's messages the WebSocket subscriber
	// received.
	WebDelivered int64 `json:"web_delivered"`
	Undelivered  int64 `json:"undelivered"`
	Errors       int64 `json:"errors"`
	Dropped      int   `json:"dropped"`
	CPU          CPU   `json:"cpu_percent,omitempty"`
	// LeaderWait is how the wait for balanced leaders before the load
	// went.
	LeaderWait *LeaderWait `json:"leader_wait,omitempty"`
	// Peers are the other systems measured under the same load
	// (RunNatsLatency), run before Parley with no Parley node up.
	Peers []LatencyPeer `json:"peers,omitempty"`
}

// drainTimeout bounds waiting for the last deliveries after a load.
const drainTimeout = 20 * time.Second

// RunLatency offers p.Rate messages per second from clients connected to
// every node but one, and times their delivery to one subscriber of every
// room connected to that one node over QUIC (the SDK), and to another on
// the same node's WebSocket (the web client's path).
func RunLatency(ctx context.Context, c *Cluster, p LatencyParams) (LatencyResult, error) {
	res := LatencyResult{Params: p, DurationS: p.Duration.Seconds()}
	subNode := c.Nodes[1]
	var sendNodes []*Node
	for _, n := range c.Nodes {
		if n != subNode {
			sendNodes = append(sendNodes, n)
			res.SenderNodes = append(res.SenderNodes, n.Name)
		}
	}
	res.SubscriberNode = subNode.Name
	sub, err := c.Dial(ctx, "lsub", subNode)
	if err != nil {
		return res, fmt.Errorf("latency: %w", err)
	}
	defer sub.Close()
	cls, err := c.DialMany(ctx, "lat", p.Senders, sendNodes)
	if err != nil {
		return res, fmt.Errorf("latency: %w", err)
	}
	defer closeAll(cls)
	rooms := make([]string, p.Rooms)
	for r := range rooms {
		rooms[r] = roomName("lat", r)
	}

	web, err := dialWeb(ctx, subNode.HTTP, fmt.Sprintf("lweb%d", c.users.Add(1)), benchPassword)
	if err != nil {
		return res, fmt.Errorf("latency: %w", err)
	}
	defer web.close()

	var (
		pending    sync.Map // MsgID → scheduled, of a measured message
		webPending sync.Map // the same, for the WebSocket subscriber
		timeline   = NewTimeline(p.Rate, p.Duration)
		webDeliver = NewHistogram()
		webCount   atomic.Int64
		deliver    = NewHistogram()
		ackHist    = NewHistogram()
		delivered  atomic.Int64
		acked      atomic.Int64
		offered    atomic.Int64
		errs       atomic.Int64
	)
	sctx, stopSubs := context.WithCancel(ctx)
	defer stopSubs()
	var subWG sync.WaitGroup
	for _, room := range rooms {
		s, err := sub.Subscribe(sctx, room, 0)
		if err != nil {
			return res, fmt.Errorf("latency: %w", err)
		}
		subWG.Go(func() {
			for m := range s.C() {
				if v, ok := pending.LoadAndDelete(m.ID); ok {
					d := time.Since(v.(scheduled).at)
					deliver.Record(d)
					timeline.Record(v.(scheduled).n, d)
					delivered.Add(1)
				}
			}
		})
	}
	subWG.Go(func() {
		web.subscribe(sctx, rooms, func(m parley.Message) {
			if v, ok := webPending.LoadAndDelete(m.ID); ok {
				webDeliver.Record(time.Since(v.(scheduled).at))
				webCount.Add(1)
			}
		})
	})
	defer func() {
		stopSubs()
		web.close()
		subWG.Wait()
	}()

	if p.LeaderWait > 0 {
		w := c.WaitLeadersBalanced(ctx, rooms, p.LeaderWait)
		res.LeaderWait = &w
	}
	text := payload(p.Payload)
	// The jobs of the warm-up are the first rate×warmup: counting by
	// index, Parley and its peer measure exactly as many messages.
	firstMeasured := int(p.Rate * p.Warmup.Seconds())
	cpu := newCPUMeter(c.pids())
	paced := runPaced(ctx, p.Rate, p.Workers, p.Rooms, p.Warmup+p.Duration, func(ctx context.Context, w int, j job) {
		measured := j.n >= firstMeasured
		id := parley.NewMsgID(time.Now())
		if measured {
			offered.Add(1)
			at := scheduled{at: j.sched, n: j.n - firstMeasured}
			pending.Store(id, at)
			webPending.Store(id, at)
		}
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		_, err := cls[w%len(cls)].SendID(sctx, rooms[j.room], id, text)
		cancel()
		if !measured {
			return
		}
		if err != nil {
			errs.Add(1)
			pending.Delete(id)
			webPending.Delete(id)
			return
		}
		acked.Add(1)
		ackHist.Record(time.Since(j.sched))
	})
	res.CPU = cpu.stop()
	res.Dropped = paced.dropped
	// Wait for the last deliveries.
	poll(ctx, drainTimeout, "deliveries", func(context.Context) error {
		if n := delivered.Load(); n < acked.Load() {
			return fmt.Errorf("%d of %d delivered", n, acked.Load())
		}
		if n := webCount.Load(); n < acked.Load() {
			return fmt.Errorf("%d of %d delivered on the WebSocket", n, acked.Load())
		}
		return nil
	})
	res.Deliver, res.Ack, res.WebDeliver = deliver.Summary(), ackHist.Summary(), webDeliver.Summary()
	res.DeliverBySecond = timeline.Slices()
	res.WebDelivered = webCount.Load()
	res.Offered, res.Acked, res.Delivered, res.Errors = offered.Load(), acked.Load(), delivered.Load(), errs.Load()
	res.Undelivered = max(0, res.Acked-res.Delivered)
	return res, ctx.Err()
}

// scheduled is when a measured message was due, and its place in the
// window's schedule.
type scheduled struct {
	at time.Time
	n  int
}

// setupNote describes where the clients were and how the wait for
// balanced leaders went, for the table.
func (l *LatencyResult) setupNote() string {
	s := fmt.Sprintf("senders on %s, subscriber on %s", strings.Join(l.SenderNodes, ", "), l.SubscriberNode)
	if w := l.LeaderWait.note(); w != "" {
		s += "; " + w
	}
	if t := timelineNote(l.DeliverBySecond, l.Deliver); t != "" {
		s += "; " + t
	}
	return s
}
