package bench

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// MemoryParams shapes the memory scenario.
type MemoryParams struct {
	// Profiles are the node profiles to measure, each on a fresh cluster.
	Profiles []string `json:"profiles"`
	// Idle is how long a fresh cluster sits idle before its RSS is read.
	Idle time.Duration `json:"-"`
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
