package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// DefaultLeaderWait bounds the wait for a fresh cluster's busy-shard
// leaders to be spread before a measured load, and QuickLeaderWait that of
// a quick run. The cluster moves one leader per node about every two
// heartbeats: spreading 12 leaders from node 1 took 21 s at a load
// average of 15 on 2 cores, 8 took 44 s at 25.
const (
	DefaultLeaderWait = 60 * time.Second
	QuickLeaderWait   = 30 * time.Second
)

// warmInterval paces the trickle of sends into each room during the
// leader wait: 20 a second, twice what makes a shard busy to the cluster
// (10 entries a second for 3 s, see chatcore/shardload.go), so that it balances
// the busy shards' leaders as it does under a steady load, while adding
// little load of its own.
const warmInterval = 50 * time.Millisecond

// LeaderWait is how the wait before a measured load went: a fresh cluster
// elects every leader on its first node, and the cluster's own leader
// balance spreads them over the nodes within seconds, the busy shards'
// apart from the idle ones. During the wait a trickle of sends (one per
// room every warmInterval, one client per node) makes the rooms' shards
// busy to the cluster. The wait lets the load meet a cluster as it is in
// its steady state; it never fails a run.
type LeaderWait struct {
	// Balanced is whether the busy shards' leaders were spread as evenly
	// as placement.BalanceLeaders spreads them (no transfer left to make)
	// before the bound.
	Balanced bool `json:"balanced"`
	// WaitS is how long the wait took, in seconds.
	WaitS float64 `json:"wait_s"`
	// LimitS is the bound of the wait, in seconds.
	LimitS float64 `json:"limit_s"`
	// Before and After count the busy shards each node led as the wait
	// began and ended.
	Before map[string]int `json:"before,omitempty"`
	After  map[string]int `json:"after,omitempty"`
	// AllAfter counts every room shard each node led as the wait ended:
	// the cluster balances all its shards' leaders, not only the busy
	// ones.
	AllAfter map[string]int `json:"all_after,omitempty"`
	// Error is the last reason the leaders did not count as balanced, when
	// they did not.
	Error string `json:"error,omitempty"`
}

// busyLeaders returns, from st, the leader and voters of each room shard
// that rooms fall on.
func (c *Cluster) busyLeaders(st transport.StatusResponse, rooms []string) map[uint64]placement.ShardLeader {
	busy := make(map[uint64]bool)
	for _, room := range rooms {
		busy[c.ShardOf(room)] = true
	}
	out := make(map[uint64]placement.ShardLeader)
	for _, s := range st.Shards {
		if busy[s.ID] {
			out[s.ID] = placement.ShardLeader{Leader: s.Leader, Voters: s.Replicas}
		}
	}
	return out
}

// roomShardLeaders returns, from st, the leader and voters of every room
// shard.
func (c *Cluster) roomShardLeaders(st transport.StatusResponse) map[uint64]placement.ShardLeader {
	out := make(map[uint64]placement.ShardLeader)
	for _, s := range st.Shards {
		if s.ID != placement.RegistryShard {
			out[s.ID] = placement.ShardLeader{Leader: s.Leader, Voters: s.Replicas}
		}
	}
	return out
}

// leaderCounts counts the shards each node leads, by node name ("node N"
// for a leader not in the cluster, "none" for a shard without one).
func (c *Cluster) leaderCounts(shards map[uint64]placement.ShardLeader) map[string]int {
	out := make(map[string]int)
	for _, s := range shards {
		name := fmt.Sprintf("node %d", s.Leader)
		if s.Leader == 0 {
			name = "none"
		} else if n := c.NodeByID(s.Leader); n != nil {
			name = n.Name
		}
		out[name]++
	}
	return out
}

// leadersBalanced returns nil if every busy shard has a live leader and
// placement.BalanceLeaders, given only the busy shards, has no transfer to
// make: then no node leads more than ⌈busy/nodes⌉ of them when every node
// is a voter of enough of them. Otherwise it says why not.
func leadersBalanced(shards map[uint64]placement.ShardLeader, live []uint64) error {
	if len(shards) == 0 {
		return errors.New("no busy shard in the status")
	}
	for id, s := range shards {
		if !slices.Contains(live, s.Leader) {
			return fmt.Errorf("shard %d has no live leader (%d)", id, s.Leader)
		}
	}
	if t := placement.BalanceLeaders(shards, live); len(t) > 0 {
		return fmt.Errorf("%d leadership transfer(s) would even them out", len(t))
	}
	return nil
}

// WaitLeadersBalanced polls node 1's status, for up to limit, until the
// leaders of the shards rooms fall on are spread over the live nodes (see
// leadersBalanced). It returns how the wait went, whatever the outcome; it
// only stops early if ctx ends.
func (c *Cluster) WaitLeadersBalanced(ctx context.Context, rooms []string, limit time.Duration) LeaderWait {
	w := LeaderWait{LimitS: round3(limit.Seconds())}
	var live []uint64
	for _, n := range c.Nodes {
		if n.Alive() {
			live = append(live, n.ID())
		}
	}
	t0 := time.Now()
	stopWarm := c.warm(ctx, rooms)
	defer stopWarm()
	var last error
	err := poll(ctx, limit, "busy-shard leaders balanced", func(ctx context.Context) error {
		octx, cancel := context.WithTimeout(ctx, opTimeout)
		st, err := c.StatusOn(octx, c.Nodes[0])
		cancel()
		if err != nil {
			err = fmt.Errorf("status of %s: %w", c.Nodes[0].Name, err)
			if last == nil || ctx.Err() == nil { // not the wait's own end
				last = err
			}
			return err
		}
		shards := c.busyLeaders(st, rooms)
		w.After = c.leaderCounts(shards)
		if w.Before == nil {
			w.Before = w.After
		}
		w.AllAfter = c.leaderCounts(c.roomShardLeaders(st))
		last = leadersBalanced(shards, live)
		return last
	})
	w.WaitS = round3(time.Since(t0).Seconds())
	w.Balanced = err == nil
	c.opts.Log.Info("leader wait", "balanced", w.Balanced, "took", time.Since(t0).Round(time.Millisecond),
		"busy", countList(w.After), "all", countList(w.AllAfter))
	if err != nil {
		if last == nil { // the status itself failed, or ctx ended
			last = err
		}
		w.Error = last.Error()
	}
	return w
}

// warm sends into each of rooms every warmInterval, from one client per
// node, until the returned stop is called; stop waits for the senders.
// A client that cannot connect, or a send that fails, only leaves its
// share of the trickle out: the wait reports what came of it.
func (c *Cluster) warm(ctx context.Context, rooms []string) (stop func()) {
	wctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var cls []*client.Client
	for _, n := range c.Nodes {
		if !n.Alive() {
			continue
		}
		cl, err := c.Dial(wctx, "warm", n)
		if err != nil {
			c.opts.Log.Warn("leader wait: no warming client", "node", n.Name, "err", err)
			continue
		}
		cls = append(cls, cl)
	}
	if len(cls) == 0 {
		cancel()
		return func() {}
	}
	text := payload(16)
	for i, room := range rooms {
		cl := cls[i%len(cls)]
		wg.Go(func() {
			t := time.NewTicker(warmInterval)
			defer t.Stop()
			for {
				select {
				case <-wctx.Done():
					return
				case <-t.C:
				}
				sctx, scancel := context.WithTimeout(wctx, sendTimeout)
				_, _ = cl.Send(sctx, room, text) // a failed send only thins the trickle
				scancel()
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
		closeAll(cls)
	}
}

// note describes the wait for a row's note.
func (w *LeaderWait) note() string {
	if w == nil {
		return ""
	}
	if w.Balanced {
		return fmt.Sprintf("leaders balanced before the load after %.1fs (%s → %s)", w.WaitS, countList(w.Before), countList(w.After))
	}
	return fmt.Sprintf("leaders NOT balanced after a %.0fs wait (%s → %s; all room shards %s), measured anyway: %s",
		math.Round(w.WaitS), countList(w.Before), countList(w.After), countList(w.AllAfter), w.Error)
}

// countList formats per-node counts in name order, "n1 3, n2 3, n3 2".
func countList(m map[string]int) string {
	if len(m) == 0 {
		return "unknown"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %d", n, m[n])
	}
	return strings.Join(parts, ", ")
}
