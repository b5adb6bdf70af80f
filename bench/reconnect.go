package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/parleychat/parley/client"
)

// ReconnectParams shapes the reconnect scenario.
type ReconnectParams struct {
	// Rate is the steady offered load into the room, messages per second.
	Rate float64 `json:"rate"`
	// Payload is the message size in bytes.
	Payload int `json:"payload_bytes"`
	// Before is how long the load runs before the kill; After how long
	// it goes on after.
	Before time.Duration `json:"-"`
	After  time.Duration `json:"-"`
}

// ReconnectResult is what a subscriber saw when its node was killed.
type ReconnectResult struct {
	Params  ReconnectParams `json:"params"`
	BeforeS float64         `json:"before_s"`
	AfterS  float64         `json:"after_s"`
	// Killed is the subscriber's node; it does not lead the room's shard,
	// so the stall measures the client's reconnect, not an election.
	Killed     string `json:"killed"`
	SenderNode string `json:"sender_node"`
	// ResumeMs is the time from the kill to the end of the subscriber's
	// longest stretch without a delivery that ended after the kill.
	ResumeMs float64 `json:"resume_ms"`
	// Acked counts the acknowledged sends; Received the messages the
	// subscriber got; Gaps the acknowledged seqs it never got; Dups those
	// it got twice or out of order.
	Acked    int   `json:"acked"`
	Received int   `json:"received"`
	Gaps     int   `json:"gaps"`
	Dups     int   `json:"dups"`
	Failed   int   `json:"failed"`
	Dropped  int   `json:"dropped"`
	LastSeq  int64 `json:"last_seq"`
}

// delivery is one message a subscriber received, and when.
type delivery struct {
	seq uint64
	at  time.Time
}

// RunReconnect follows a room from one node while another node's client
// sends into it, kills -9 the subscriber's node, and measures how long the
// subscriber went without a message and whether it missed any.
func RunReconnect(ctx context.Context, c *Cluster, p ReconnectParams) (ReconnectResult, error) {
	res := ReconnectResult{Params: p, BeforeS: p.Before.Seconds(), AfterS: p.After.Seconds()}
	room := fmt.Sprintf("reconnect-%d", time.Now().UnixNano()%1e6)
	leader, err := c.LeaderOf(ctx, c.ShardOf(room))
	if err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	var subNode, sendNode *Node
	for _, n := range c.Nodes {
		switch {
		case n == leader:
		case subNode == nil:
			subNode = n
		case sendNode == nil:
			sendNode = n
		}
	}
	if sendNode == nil {
		sendNode = leader
	}
	res.Killed, res.SenderNode = subNode.Name, sendNode.Name
	sender, err := c.Dial(ctx, "rsnd", sendNode)
	if err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	defer sender.Close()
	subCl, err := c.Dial(ctx, "rsub", subNode)
	if err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	defer subCl.Close()
	sctx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	sub, err := subCl.Subscribe(sctx, room, 1)
	if err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	var mu sync.Mutex
	var got []delivery
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for m := range sub.C() {
			mu.Lock()
			got = append(got, delivery{seq: m.Seq, at: time.Now()})
			mu.Unlock()
		}
	}()

	load := faultLoad{
		rate: p.Rate, workers: 16, rooms: 1, before: p.Before, after: p.After, payload: p.Payload,
		route: func(int, job) (string, int, *client.Client) { return room, 0, sender },
	}
	run, err := load.run(ctx, c, subNode)
	if err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	res.Dropped = run.paced.dropped
	var last uint64
	for _, r := range run.recs {
		if r.ack.IsZero() {
			res.Failed++
			continue
		}
		res.Acked++
		last = max(last, r.seq)
	}
	res.LastSeq = int64(last)
	poll(ctx, drainTimeout, "subscriber caught up", func(context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 || got[len(got)-1].seq < last {
			return fmt.Errorf("subscriber behind")
		}
		return nil
	})
	stopSub()
	<-subDone
	res.Received = len(got)
	res.ResumeMs = round3(float64(resumeAfter(got, run.killAt)) / float64(time.Millisecond))
	res.Gaps, res.Dups = seqFaults(got, last)

	if err := c.Restart(ctx, subNode); err != nil {
		return res, fmt.Errorf("reconnect: restart: %w", err)
	}
	if err := c.WaitFormed(ctx); err != nil {
		return res, fmt.Errorf("reconnect: %w", err)
	}
	return res, ctx.Err()
}

// resumeAfter returns the time from kill to the end of the longest stretch
// without a delivery that ended after kill.
func resumeAfter(got []delivery, kill time.Time) time.Duration {
	var best time.Duration
	var end time.Time
	prev := kill
	for _, d := range got {
		if d.at.Before(kill) {
			prev = d.at
			continue
		}
		if gap := d.at.Sub(prev); gap > best {
			best, end = gap, d.at
		}
		prev = d.at
	}
	if end.IsZero() {
		return 0
	}
	return end.Sub(kill)
}

// seqFaults counts the seqs from 1 to last never delivered (gaps) and the
// deliveries that repeated or went back on a seq (dups).
func seqFaults(got []delivery, last uint64) (gaps, dups int) {
	seen := make(map[uint64]bool)
	var prev uint64
	for _, d := range got {
		if seen[d.seq] || d.seq < prev {
			dups++
		}
		seen[d.seq] = true
		prev = d.seq
	}
	for s := uint64(1); s <= last; s++ {
		if !seen[s] {
			gaps++
		}
	}
	return gaps, dups
}
