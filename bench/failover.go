package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// FailoverParams shapes the failover scenario.
type FailoverParams struct {
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
	// Before is how long the load runs before the kill; After how long
	// it goes on after.
	Before time.Duration `json:"-"`
	After  time.Duration `json:"-"`
	// Idle, if not zero, stops the load for that long before the kill,
	// so that the cluster's shards go quiet (quiesce) and the kill tests
	// waking them; the load resumes at the kill, and the gaps are then
	// measured over the sends after the kill only.
	Idle time.Duration `json:"-"`
}

// FailoverResult is what clients saw when the leader of the busiest shard
// was killed, and what the cluster kept.
type FailoverResult struct {
	Params  FailoverParams `json:"params"`
	BeforeS float64        `json:"before_s"`
	AfterS  float64        `json:"after_s"`
	IdleS   float64        `json:"idle_s,omitempty"`
	// Killed is the node killed, the leader of Shard, the shard with the
	// most of the load's rooms.
	Killed string `json:"killed"`
	Shard  uint64 `json:"shard"`
	// GapMs is the client-visible gap: the longest stretch during the run
	// in which one client had no send acknowledged (GapClientNode is the
	// node that client was connected to first). ClusterGapMs is the
	// longest stretch in which no client had any.
	GapMs         float64 `json:"gap_ms"`
	GapClientNode string  `json:"gap_client_node"`
	ClusterGapMs  float64 `json:"cluster_gap_ms"`
	// Ack is send → ack over the whole run, from scheduled send times.
	Ack Latency `json:"ack_latency"`
	// RecoveryMs is how long after the kill every client and every room
	// had a send acknowledged again (full recovery). BeforeP99Ms is the
	// ack p99 before the kill, for comparison with Ack.
	RecoveryMs  float64 `json:"recovery_ms"`
	BeforeP99Ms float64 `json:"before_p99_ms"`
	// Offered, Acked and Failed count sends; Failed ones timed out
	// unacknowledged (their fate is unknown, so they are not checked).
	Offered int `json:"offered"`
	Acked   int `json:"acked"`
	Failed  int `json:"failed"`
	Dropped int `json:"dropped"`
	// Lost counts acknowledged messages missing (or at another seq) on
	// some node; Dups messages stored twice; Gaps rooms whose seqs are not
	// gapless; Diverged is the first difference between nodes' copies.
	Lost     int    `json:"lost"`
	Dups     int    `json:"dups"`
	Gaps     int    `json:"gaps"`
	Diverged string `json:"diverged,omitempty"`
	// CatchUpMs is how long the restarted node took, from its restart,
	// to hold every room exactly as the others do.
	CatchUpMs float64 `json:"catch_up_ms"`
}

// RunFailover offers a steady load, kills -9 the node leading the busiest
// shard, keeps the load on, then restarts the node and checks every
// node's copy of every room against the acknowledged sends.
func RunFailover(ctx context.Context, c *Cluster, p FailoverParams) (FailoverResult, error) {
	res := FailoverResult{Params: p, BeforeS: p.Before.Seconds(), AfterS: p.After.Seconds(), IdleS: p.Idle.Seconds()}
	rooms := make([]string, p.Rooms)
	perShard := make(map[uint64]int)
	for r := range rooms {
		rooms[r] = roomName("fo", r)
		perShard[c.ShardOf(rooms[r])]++
	}
	for s, n := range perShard {
		if n > perShard[res.Shard] || (n == perShard[res.Shard] && s < res.Shard) {
			res.Shard = s
		}
	}
	victim, err := c.LeaderOf(ctx, res.Shard)
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	res.Killed = victim.Name
	cls, err := c.DialMany(ctx, "fo", p.Senders, c.Nodes)
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	defer closeAll(cls)

	load := faultLoad{
		rate: p.Rate, workers: p.Workers, rooms: p.Rooms, before: p.Before, after: p.After, pause: p.Idle, payload: p.Payload,
		route: func(w int, j job) (string, int, *client.Client) {
			return rooms[j.room], w % len(cls), cls[w%len(cls)]
		},
	}
	run, err := load.run(ctx, c, victim)
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("failover: %w", ctx.Err())
	}

	recs, killAt := run.recs, run.killAt
	all, before := NewHistogram(), NewHistogram()
	for _, r := range recs {
		if r.ack.IsZero() {
			res.Failed++
			continue
		}
		res.Acked++
		all.Record(r.ack.Sub(r.sched))
		if r.sched.Before(killAt) {
			before.Record(r.ack.Sub(r.sched))
		}
	}
	res.Offered, res.Dropped = run.paced.issued, run.paced.dropped
	res.Ack = all.Summary()
	res.BeforeP99Ms = before.Summary().P99Ms
	gapRecs := recs
	if p.Idle > 0 { // the pause is no gap: measure after the kill
		gapRecs = slices.DeleteFunc(slices.Clone(recs), func(r sendRecord) bool { return r.sched.Before(killAt) })
	}
	gap, gapClient := longestClientGap(gapRecs)
	res.GapMs = round3(float64(gap) / float64(time.Millisecond))
	res.GapClientNode = c.Nodes[gapClient%len(c.Nodes)].Name
	clusterGap, _ := longestGap(gapRecs)
	res.ClusterGapMs = round3(float64(clusterGap) / float64(time.Millisecond))
	res.RecoveryMs = round3(float64(recoveryTime(recs, killAt)) / float64(time.Millisecond))

	// Restart the victim and wait until it holds what the others hold.
	restartAt := time.Now()
	if err := c.Restart(ctx, victim); err != nil {
		return res, fmt.Errorf("failover: restart: %w", err)
	}
	var survivor *Node
	for _, n := range c.Nodes {
		if n != victim {
			survivor = n
			break
		}
	}
	ref, err := histories(ctx, c, survivor, rooms)
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	err = poll(ctx, formTimeout, victim.Name+" caught up", func(ctx context.Context) error {
		h, err := histories(ctx, c, victim, rooms)
		if err != nil {
			return err
		}
		return sameHistories(ref, h)
	})
	if err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	res.CatchUpMs = round3(float64(time.Since(restartAt)) / float64(time.Millisecond))

	// Check every node's copy against the ledger and against each other.
	for _, n := range c.Nodes {
		h, err := histories(ctx, c, n, rooms)
		if err != nil {
			return res, fmt.Errorf("failover: %w", err)
		}
		hc := checkHistory(recs, h)
		res.Lost, res.Dups, res.Gaps = max(res.Lost, hc.lost), max(res.Dups, hc.dups), max(res.Gaps, hc.gaps)
		if err := sameHistories(ref, h); err != nil && res.Diverged == "" {
			res.Diverged = fmt.Sprintf("%s and %s: %v", survivor.Name, n.Name, err)
		}
	}
	if err := c.WaitFormed(ctx); err != nil {
		return res, fmt.Errorf("failover: %w", err)
	}
	return res, nil
}

// histories returns node n's copy of every room.
func histories(ctx context.Context, c *Cluster, n *Node, rooms []string) (map[string][]parley.Message, error) {
	out := make(map[string][]parley.Message)
	for _, r := range slices.Clone(rooms) {
		hctx, cancel := context.WithTimeout(ctx, opTimeout)
		msgs, err := c.HistoryOn(hctx, n, r)
		cancel()
		if err != nil {
			return nil, errors.Join(fmt.Errorf("history of %s", r), err)
		}
		out[r] = msgs
	}
	return out, nil
}

// Correct reports whether the run lost and duplicated nothing and every
// node holds the same gapless rooms.
func (r FailoverResult) Correct() bool {
	return r.Lost == 0 && r.Dups == 0 && r.Gaps == 0 && r.Diverged == ""
}
