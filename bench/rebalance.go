package bench

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// RebalanceParams shapes the rebalance scenario.
type RebalanceParams struct {
	// Nodes is the cluster's size before the join.
	Nodes int `json:"nodes"`
	// Rate is the steady offered load in messages per second.
	Rate float64 `json:"rate"`
	// Rooms is the number of rooms the messages spread over.
	Rooms int `json:"rooms"`
	// Senders is the number of sending clients, spread over every node;
	// Workers the goroutines sharing them.
	Senders int `json:"senders"`
	Workers int `json:"workers"`
	// Payload is the message size in bytes.
	Payload int `json:"payload_bytes"`
	// Before is how long the load runs before the join; After how long it
	// goes on after (the settling is timed apart, and may take longer).
	Before time.Duration `json:"-"`
	After  time.Duration `json:"-"`
}

// RebalanceResult is what adding a node to a loaded cluster cost.
type RebalanceResult struct {
	Params RebalanceParams `json:"params"`
	Shards int             `json:"shards"`
	// SettleS is from the new node's start to the placement settled: every
	// shard on its wanted voters, nothing non-voting, leaders spread.
	SettleS float64 `json:"settle_s"`
	// Moved is how many replicas the join moved; Ideal is R·S/(N+1).
	Moved int `json:"moved"`
	Ideal int `json:"ideal"`
	// Before and During are send → ack before the join and from the join
	// to the settling (or the load's end).
	Before Latency `json:"ack_before"`
	During Latency `json:"ack_during"`
	// Offered, Acked and Failed count sends.
	Offered int `json:"offered"`
	Acked   int `json:"acked"`
	Failed  int `json:"failed"`
	Dropped int `json:"dropped"`
}

// RunRebalance starts a cluster of p.Nodes, measures its throughput (the
// row "parley-N-nodes"), then offers a steady load and adds one node:
// how long until the placement settles, how many replicas moved against
// the ideal, and the ack latency during the move against before.
func RunRebalance(ctx context.Context, opts ClusterOptions, tp ThroughputParams, p RebalanceParams) (ThroughputResult, RebalanceResult, error) {
	res := RebalanceResult{Params: p, Shards: opts.Shards}
	opts.Nodes = p.Nodes
	c, err := StartCluster(ctx, opts)
	if err != nil {
		return ThroughputResult{}, res, fmt.Errorf("rebalance: %w", err)
	}
	defer c.Close()
	tr, err := RunThroughput(ctx, c, tp)
	tr.System = fmt.Sprintf("parley-%d-nodes", p.Nodes)
	tr.Note = fmt.Sprintf("%d nodes, %d voters per shard", p.Nodes, placement.DefaultReplication)
	if err != nil {
		return tr, res, fmt.Errorf("rebalance: %w", err)
	}
	before, err := c.placement(ctx)
	if err != nil {
		return tr, res, fmt.Errorf("rebalance: %w", err)
	}

	cls, err := c.DialMany(ctx, "rb", p.Senders, c.Nodes)
	if err != nil {
		return tr, res, fmt.Errorf("rebalance: %w", err)
	}
	defer closeAll(cls)
	rooms := make([]string, p.Rooms)
	for r := range rooms {
		rooms[r] = roomName("rb", r)
	}
	text := payload(p.Payload)
	var (
		mu   sync.Mutex
		recs []sendRecord
	)
	done := make(chan paced, 1)
	go func() {
		done <- runPaced(ctx, p.Rate, p.Workers, p.Rooms, p.Before+p.After, func(ctx context.Context, w int, j job) {
			cl := cls[w%len(cls)]
			rec := sendRecord{room: rooms[j.room], client: w % len(cls), id: parley.NewMsgID(time.Now()), sched: j.sched}
			sctx, cancel := context.WithTimeout(ctx, sendTimeout)
			r, err := cl.SendID(sctx, rec.room, rec.id, text)
			cancel()
			if err != nil {
				rec.err = err
			} else {
				rec.ack, rec.seq = time.Now(), r.Seq
			}
			mu.Lock()
			recs = append(recs, rec)
			mu.Unlock()
		})
	}()
	joinTimer := time.NewTimer(p.Before) // when to add the node
	defer joinTimer.Stop()
	select {
	case <-joinTimer.C:
	case <-ctx.Done():
		<-done
		return tr, res, fmt.Errorf("rebalance: %w", ctx.Err())
	}
	addAt := time.Now()
	n, err := c.AddNode(ctx)
	if err != nil {
		<-done
		return tr, res, fmt.Errorf("rebalance: %w", err)
	}
	var after map[uint64][]uint64
	err = poll(ctx, formTimeout, "placement settled with "+n.Name, func(ctx context.Context) error {
		var err error
		after, err = c.settled(ctx)
		return err
	})
	settleAt := time.Now()
	pr := <-done
	if err != nil {
		return tr, res, fmt.Errorf("rebalance: %w", err)
	}
	res.SettleS = round3(settleAt.Sub(addAt).Seconds())
	res.Moved = placement.Moved(before, after)
	res.Ideal = placement.DefaultReplication * opts.Shards / (p.Nodes + 1)
	bh, dh := NewHistogram(), NewHistogram()
	for _, r := range recs {
		if r.ack.IsZero() {
			res.Failed++
			continue
		}
		res.Acked++
		switch {
		case r.sched.Before(addAt):
			bh.Record(r.ack.Sub(r.sched))
		case r.sched.Before(settleAt):
			dh.Record(r.ack.Sub(r.sched))
		}
	}
	res.Offered, res.Dropped = pr.issued, pr.dropped
	res.Before, res.During = bh.Summary(), dh.Summary()
	return tr, res, nil
}

// placement returns the room shards' voters as n1 sees them.
func (c *Cluster) placement(ctx context.Context) (map[uint64][]uint64, error) {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	st, err := c.StatusOn(octx, c.Nodes[0])
	if err != nil {
		return nil, err
	}
	out := make(map[uint64][]uint64)
	for _, s := range st.Shards[1:] {
		out[s.ID] = s.Replicas
	}
	return out, nil
}

// settled returns the placement once n1's view shows every room shard on
// its wanted voters with nothing non-voting and every node up, else why not.
func (c *Cluster) settled(ctx context.Context) (map[uint64][]uint64, error) {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	st, err := c.StatusOn(octx, c.Nodes[0])
	if err != nil {
		return nil, err
	}
	return settledPlacement(st, len(c.Nodes))
}

// settledPlacement returns the room shards' voters from st if it lists
// nodes nodes, all up, and every room shard on its wanted voters with a
// leader and nothing non-voting, else why not.
func settledPlacement(st transport.StatusResponse, nodes int) (map[uint64][]uint64, error) {
	if len(st.Nodes) != nodes {
		return nil, fmt.Errorf("%d nodes listed, want %d", len(st.Nodes), nodes)
	}
	for _, n := range st.Nodes {
		if !n.Up {
			return nil, fmt.Errorf("node %d is down", n.ID)
		}
	}
	out := make(map[uint64][]uint64)
	for _, s := range st.Shards[1:] {
		want := slices.Sorted(slices.Values(s.Wanted))
		if len(s.NonVoting) > 0 || !slices.Equal(slices.Sorted(slices.Values(s.Replicas)), want) || s.Leader == 0 {
			return nil, fmt.Errorf("shard %d: voters %v non-voting %v wanted %v", s.ID, s.Replicas, s.NonVoting, s.Wanted)
		}
		out[s.ID] = s.Replicas
	}
	return out, nil
}

// AddNode starts one more node, joining through n1, and waits for its
// /healthz.
func (c *Cluster) AddNode(ctx context.Context) (*Node, error) {
	n, err := c.Config.NewNode(fmt.Sprintf("n%d", len(c.Nodes)+1), "--join", c.Nodes[0].Client, "--token", c.Token)
	if err != nil {
		return nil, err
	}
	c.Nodes = append(c.Nodes, n)
	if err := n.Start(); err != nil {
		return nil, err
	}
	return n, waitHealthy(ctx, n)
}
