package bench

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"
)

// MemoryParams shapes the memory scenario.
type MemoryParams struct {
	// Profiles are the node profiles to measure, each on a fresh cluster.
	Profiles []string `json:"profiles"`
	// Idle is how long a fresh cluster sits idle before its RSS is read.
	Idle time.Duration `json:"-"`
	// SettleLimit bounds the wait, after that first reading, for the
	// cluster to settle (see settledIdle); Window is how long the settled
	// cluster is then measured.
	SettleLimit time.Duration `json:"-"`
	Window      time.Duration `json:"-"`
	// Load is the throughput load run to measure the peak.
	Load ThroughputParams `json:"load"`
}

// MemoryResult is one profile's per-node memory.
type MemoryResult struct {
	Profile string  `json:"profile"`
	Shards  int     `json:"shards"` // the cluster's room shards
	IdleS   float64 `json:"idle_s"`
	// Idle is each node's RSS after the idle time; its Peak the
	// high-water mark since the node started (including bootstrap).
	Idle map[string]RSS `json:"idle"`
	// Load is each node's RSS at the end of the load; its Peak the
	// high-water mark during the load (reset after the clients logged
	// in, since a login's argon2id hash takes 19 MiB for a moment).
	Load map[string]RSS `json:"load"`
	// IdleMax is each node's largest RSS sampled (every half second)
	// during the idle time: the Go heap grows and shrinks between GCs.
	IdleMax map[string]float64 `json:"idle_max_mib"`
	// MaxIdleMiB and MaxLoadPeakMiB are the largest over the nodes.
	MaxIdleMiB     float64 `json:"max_idle_mib"`
	MaxLoadPeakMiB float64 `json:"max_load_peak_mib"`
	// MsgPerSec is the load's throughput, for context.
	MsgPerSec float64 `json:"msg_per_sec"`
	// IdleCPU is each node's CPU use while idle, in percent of one core.
	IdleCPU CPU `json:"idle_cpu_percent"`
	// Settled is the same cluster once it has settled: every shard on its
	// wanted voters with a leader, and the leaders unchanged for long
	// enough that idle room shards have quiesced. A fresh cluster is
	// still electing, spreading replicas and leaders and hashing its
	// harness's logins in its first seconds; an idle node of a running
	// cluster is this one.
	Settled SettledIdle `json:"settled"`
}

// SettledIdle is a settled cluster's idle reading.
type SettledIdle struct {
	// Settled is whether the cluster settled within the limit; the
	// reading is taken either way.
	Settled bool `json:"settled"`
	// SettleS is how long settling took after the fresh reading.
	SettleS float64 `json:"settle_s"`
	// WindowS is how long the reading's CPU was measured.
	WindowS float64 `json:"window_s"`
	// RSS is each node's RSS at the end of the window; CPU its CPU over
	// the window, in percent of one core.
	RSS map[string]RSS `json:"rss"`
	CPU CPU            `json:"cpu_percent"`
	// Host is how the whole machine's CPU time went over the window.
	Host *HostCPU `json:"host_cpu,omitempty"`
	// MaxMiB and MaxCPU are the largest over the nodes.
	MaxMiB float64 `json:"max_mib"`
	MaxCPU float64 `json:"max_cpu_percent"`
	// Error is why the cluster did not count as settled, when it did not.
	Error string `json:"error,omitempty"`
}

// RunMemory starts a fresh cluster per profile, reads each node's RSS
// after an idle time and its peak during a throughput load.
func RunMemory(ctx context.Context, base ClusterOptions, p MemoryParams) ([]MemoryResult, error) {
	var out []MemoryResult
	for _, prof := range p.Profiles {
		opts := base
		opts.Profile = prof
		opts.Dir = filepath.Join(base.Dir, "memory-"+prof)
		r, err := memoryOf(ctx, opts, p)
		if err != nil {
			return out, fmt.Errorf("memory %s: %w", prof, err)
		}
		out = append(out, r)
	}
	return out, nil
}

func memoryOf(ctx context.Context, opts ClusterOptions, p MemoryParams) (MemoryResult, error) {
	res := MemoryResult{Profile: opts.Profile, IdleS: p.Idle.Seconds()}
	c, err := StartCluster(ctx, opts)
	if err != nil {
		return res, err
	}
	defer c.Close()
	res.Shards = c.opts.Shards
	// Let the cluster sit idle, sampling its RSS and measuring its CPU.
	cpu := newCPUMeter(c.pids())
	res.IdleMax = make(map[string]float64)
	sample := time.NewTicker(500 * time.Millisecond)
	defer sample.Stop()
	idle := time.NewTimer(p.Idle)
	for waiting := true; waiting; {
		select {
		case <-sample.C:
			if rss, err := c.RSS(); err == nil {
				for n, r := range rss {
					res.IdleMax[n] = max(res.IdleMax[n], r.Current)
				}
			}
		case <-idle.C:
			waiting = false
		case <-ctx.Done():
			return res, ctx.Err()
		}
	}
	res.IdleCPU = cpu.stop()
	delete(res.IdleCPU, "bench")
	if res.Idle, err = c.RSS(); err != nil {
		return res, err
	}
	if res.Settled, err = c.settledIdle(ctx, p.SettleLimit, p.Window); err != nil {
		return res, err
	}
	tp, err := RunThroughput(ctx, c, p.Load)
	if err != nil {
		return res, err
	}
	res.Load, res.MsgPerSec = tp.RSS, tp.MsgPerSec
	for _, r := range res.Idle {
		res.MaxIdleMiB = max(res.MaxIdleMiB, r.Current)
	}
	for _, r := range res.Load {
		res.MaxLoadPeakMiB = max(res.MaxLoadPeakMiB, r.Peak)
	}
	return res, nil
}

// A settled cluster's placement and leaders stay unchanged for settleQuiet,
// as n1 sees them every settlePoll. A status call reads every shard's
// membership through Raft, which wakes quiesced shards, so the polls are
// sparse, and after the last one the cluster is left alone for settleQuiet
// (longer than a room shard takes to quiesce, 4 s, see
// chatcore/quiesce.go) before its idle CPU is measured.
const (
	settleQuiet = 6 * time.Second
	settlePoll  = time.Second
)

// settledIdle waits, for up to limit, until the cluster has settled: n1
// sees every room shard on its wanted voters with a leader, and that view
// has not changed for settleQuiet. Then it leaves the cluster alone for
// settleQuiet, measures the nodes' CPU over window, and reads their RSS.
func (c *Cluster) settledIdle(ctx context.Context, limit, window time.Duration) (SettledIdle, error) {
	var out SettledIdle
	t0 := time.Now()
	var last map[uint64][]uint64
	var lastLeaders map[uint64]uint64
	var since time.Time
	err := pollEvery(ctx, limit, settlePoll, "settled", func(ctx context.Context) error {
		placed, leaders, err := c.settledView(ctx)
		if err != nil {
			last = nil
			return err
		}
		if last == nil || !maps.EqualFunc(last, placed, slices.Equal) || !maps.Equal(lastLeaders, leaders) {
			last, lastLeaders, since = placed, leaders, time.Now()
		}
		if quiet := time.Since(since); quiet < settleQuiet {
			return fmt.Errorf("unchanged for %v of %v", quiet.Round(time.Second), settleQuiet)
		}
		return nil
	})
	if ctx.Err() != nil {
		return out, ctx.Err()
	}
	out.Settled = err == nil
	if err != nil {
		out.Error = err.Error()
	}
	out.SettleS = round3(time.Since(t0).Seconds())
	if err := pause(ctx, settleQuiet); err != nil {
		return out, err
	}
	cpu := newCPUMeter(c.pids())
	if err := pause(ctx, window); err != nil {
		return out, err
	}
	out.CPU, out.Host = cpu.stop(), cpu.host()
	delete(out.CPU, "bench")
	out.WindowS = window.Seconds()
	if out.RSS, err = c.RSS(); err != nil {
		return out, err
	}
	for _, r := range out.RSS {
		out.MaxMiB = max(out.MaxMiB, r.Current)
	}
	for _, v := range out.CPU {
		out.MaxCPU = max(out.MaxCPU, v)
	}
	return out, nil
}

// settledView returns n1's view of the room shards' voters and leaders if
// every shard has settled on its wanted voters (see settled).
func (c *Cluster) settledView(ctx context.Context) (map[uint64][]uint64, map[uint64]uint64, error) {
	octx, cancel := context.WithTimeout(ctx, opTimeout)
	defer cancel()
	st, err := c.StatusOn(octx, c.Nodes[0])
	if err != nil {
		return nil, nil, err
	}
	placed, err := settledPlacement(st, len(c.Nodes))
	if err != nil {
		return nil, nil, err
	}
	leaders := make(map[uint64]uint64)
	for id, s := range c.roomShardLeaders(st) {
		leaders[id] = s.Leader
	}
	return placed, leaders, nil
}

// pause waits for d, the time a measurement needs, or until ctx ends.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
