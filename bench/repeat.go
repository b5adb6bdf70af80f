package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Spread is how a throughput row varied over its repeated runs: the row
// itself is the median run.
type Spread struct {
	Runs         int     `json:"runs"`
	MsgPerSecMin float64 `json:"msg_per_sec_min"`
	MsgPerSecMax float64 `json:"msg_per_sec_max"`
	CPUUsMin     float64 `json:"server_cpu_us_per_msg_min"`
	CPUUsMax     float64 `json:"server_cpu_us_per_msg_max"`
}

// throughputScenarios are the scenarios that make throughput rows, in the
// order of a run's first round.
var throughputScenarios = []string{ScenarioRaw, ScenarioJetStream, ScenarioThroughput}

// settleWait bounds the wait for the machine to calm down between two
// repeated runs; settleMin is always waited.
const (
	settleWait = 60 * time.Second
	settleMin  = 5 * time.Second
)

// settle waits settleMin, then until the 1-minute load average is at most
// the number of cores or settleWait has passed, and returns the load.
func (r *runner) settle(ctx context.Context) float64 {
	deadline := time.Now().Add(settleWait)
	wait := settleMin
	for {
		if pause(ctx, wait) != nil {
			return loadAvg()
		}
		if l := loadAvg(); l <= float64(max(r.rep.Machine.CPUs, 1)) || time.Now().After(deadline) {
			return l
		}
		wait = time.Second
	}
}

// roundOrder returns the throughput scenarios of round (0-based) in
// rotated order, so that no system always runs first or last.
func roundOrder(selected []string, round int) []string {
	out := slices.Clone(selected)
	if len(out) > 0 {
		k := round % len(out)
		out = append(out[k:], out[:k]...)
	}
	return out
}

// runThroughputRounds runs the selected throughput scenarios Repeats
// times, in rotated order, settling between runs and giving Parley a fresh
// cluster each round (so that the peers never share the machine with an
// idle Parley, and each round places its leaders anew). Every run goes to
// ThroughputRuns; Throughput gets each system's median run with its spread.
// It returns the error of each scenario that failed.
func (r *runner) runThroughputRounds(ctx context.Context, selected []string) map[string]error {
	errs := make(map[string]error)
	for round := range r.o.Repeats {
		for _, s := range roundOrder(selected, round) {
			if ctx.Err() != nil || errs[s] != nil {
				continue
			}
			r.round = round + 1
			load := r.settle(ctx)
			before := len(r.rep.Throughput)
			r.o.Log.Info("throughput round", "round", r.round, "scenario", s, "load", load)
			if err := r.run(ctx, s); err != nil {
				errs[s] = err
			}
			for i := before; i < len(r.rep.Throughput); i++ {
				r.rep.Throughput[i].Round, r.rep.Throughput[i].LoadAvg = r.round, load
			}
			if s == ScenarioThroughput {
				r.closeCluster()
			}
		}
	}
	r.round = 0
	r.rep.ThroughputRuns = r.rep.Throughput
	r.rep.Throughput = medianRows(r.rep.ThroughputRuns)
	return errs
}

// medianRows returns, per system in first-seen order, the run with the
// median msg/s, its CPU per message the median of the runs', and the
// spread of both.
func medianRows(runs []ThroughputResult) []ThroughputResult {
	var systems []string
	by := make(map[string][]ThroughputResult)
	for _, t := range runs {
		if _, ok := by[t.System]; !ok {
			systems = append(systems, t.System)
		}
		t.ServerCPUUsPerMsg = t.serverCPUPerMsg()
		by[t.System] = append(by[t.System], t)
	}
	out := make([]ThroughputResult, 0, len(systems))
	for _, sys := range systems {
		rs := by[sys]
		slices.SortFunc(rs, func(a, b ThroughputResult) int { return cmpFloat(a.MsgPerSec, b.MsgPerSec) })
		row := rs[len(rs)/2]
		cpu := make([]float64, len(rs))
		for i, t := range rs {
			cpu[i] = t.ServerCPUUsPerMsg
		}
		slices.Sort(cpu)
		row.ServerCPUUsPerMsg = cpu[len(cpu)/2]
		row.Spread = &Spread{
			Runs: len(rs), MsgPerSecMin: rs[0].MsgPerSec, MsgPerSecMax: rs[len(rs)-1].MsgPerSec,
			CPUUsMin: cpu[0], CPUUsMax: cpu[len(cpu)-1],
		}
		row.Round = 0
		out = append(out, row)
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// spreadNote formats a row's spread for the table, "" for a single run.
func spreadNote(t ThroughputResult) string {
	s := t.Spread
	if s == nil || s.Runs < 2 {
		return ""
	}
	return fmt.Sprintf("median of %d runs: %s–%s msg/s, %.0f–%.0f µs/msg; ", s.Runs,
		thousands(s.MsgPerSecMin), thousands(s.MsgPerSecMax), s.CPUUsMin, s.CPUUsMax)
}

// leaderPlacement returns, for the room shards the rooms fall on, how
// many each node leads, as the first node that answers sees them: where the
// leader work went. Right after a load a probe's client may have moved
// away from a slow node, so each node is asked in turn.
func (c *Cluster) leaderPlacement(ctx context.Context, rooms []string) (map[string]int, error) {
	var errs []error
	for _, n := range c.Nodes {
		st, err := c.Probes.StatusOn(ctx, n)
		if err == nil {
			return c.leaderCounts(c.busyLeaders(st, rooms)), nil
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("leaders: %w", errors.Join(errs...))
}
