package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of a benchmark run: what ran, on what machine,
// and every scenario's results. It encodes as the JSON that --out writes.
type Report struct {
	Started   time.Time `json:"started"`
	DurationS float64   `json:"duration_s"`
	Quick     bool      `json:"quick"`
	Machine   Machine   `json:"machine"`
	// Profile and Shards describe the Parley cluster of the scenarios
	// other than memory.
	Profile string `json:"profile"`
	Shards  int    `json:"shards"`
	// Ran lists the scenarios that ran to the end.
	Ran []string `json:"ran"`
	// LoadAvg is the machine's 1-minute load average as each scenario
	// started: well above zero, something else was using the CPU.
	LoadAvg    map[string]float64 `json:"load_avg_1m,omitempty"`
	Throughput []ThroughputResult `json:"throughput,omitempty"`
	// ThroughputRuns are every run of the throughput rows when they are
	// repeated; Throughput then holds each system's median run.
	ThroughputRuns []ThroughputResult `json:"throughput_runs,omitempty"`
	Latency        *LatencyResult     `json:"latency,omitempty"`
	Fanout         *FanoutResult      `json:"fanout,omitempty"`
	Failover       *FailoverResult    `json:"failover,omitempty"`
	Reconnect      *ReconnectResult   `json:"reconnect,omitempty"`
	Rebalance      *RebalanceResult   `json:"rebalance,omitempty"`
	Memory         []MemoryResult     `json:"memory,omitempty"`
	Analytics      *AnalyticsResult   `json:"analytics,omitempty"`
	// Ratios compares Parley's throughput with each peer's.
	Ratios []Ratio `json:"ratios,omitempty"`
	// Targets are the goals, reported and never asserted.
	Targets []Target `json:"targets,omitempty"`
	// Errors are the scenarios that failed, with why.
	Errors []ScenarioError `json:"errors,omitempty"`
}

// Ratio is Parley's throughput divided by a peer's.
type Ratio struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
}

// Target is one performance goal and how the run compares with it.
type Target struct {
	Name  string `json:"name"`
	Goal  string `json:"goal"`
	Value string `json:"value"`
	Met   bool   `json:"met"`
}

// ScenarioError is a scenario that could not finish.
type ScenarioError struct {
	Scenario string `json:"scenario"`
	Error    string `json:"error"`
}

// throughputOf returns the throughput of system, or nil.
func (r *Report) throughputOf(system string) *ThroughputResult {
	for i := range r.Throughput {
		if r.Throughput[i].System == system {
			return &r.Throughput[i]
		}
	}
	return nil
}

// failed reports whether scenario s failed.
func (r *Report) failed(s string) bool {
	return slices.ContainsFunc(r.Errors, func(e ScenarioError) bool { return e.Scenario == s })
}

// finish computes the ratios and the targets from the results of the
// scenarios that did not fail.
func (r *Report) finish() {
	r.Ratios, r.Targets = nil, nil
	for i := range r.Throughput {
		if r.Throughput[i].Spread == nil { // a median row has its runs' median
			r.Throughput[i].ServerCPUUsPerMsg = r.Throughput[i].serverCPUPerMsg()
		}
	}
	parley := r.throughputOf("parley")
	ratio := func(peer string) (float64, bool) {
		p := r.throughputOf(peer)
		if parley == nil || p == nil || p.MsgPerSec == 0 {
			return 0, false
		}
		v := round3(parley.MsgPerSec / p.MsgPerSec)
		r.Ratios = append(r.Ratios, Ratio{Name: "parley/" + peer, Value: v})
		return v, true
	}
	if v, ok := ratio("raw-dragonboat"); ok {
		r.target("throughput vs raw dragonboat", "≥ 0.90×", fmt.Sprintf("%.2f×", v), v >= 0.9)
	}
	if raw := r.throughputOf("raw-dragonboat"); parley != nil && raw != nil && parley.ServerCPUUsPerMsg > 0 && raw.ServerCPUUsPerMsg > 0 {
		v := parley.ServerCPUUsPerMsg / raw.ServerCPUUsPerMsg
		r.target("server CPU per message vs raw dragonboat", "≤ 1.30×",
			fmt.Sprintf("%.2f× (%.0f vs %.0f µs)", v, parley.ServerCPUUsPerMsg, raw.ServerCPUUsPerMsg), v <= 1.3)
	}
	ratio("raw-dragonboat-dense-ids")
	ratio("raw-dragonboat-1shard")
	if v, ok := ratio("jetstream-default"); ok {
		r.target("throughput vs JetStream (default sync)", "≥ 1.00×", fmt.Sprintf("%.2f×", v), v >= 1.0)
	}
	ratio("jetstream-always")
	ratio("jetstream-always-busy-shards")
	ratio("jetstream-always-stream-per-room")
	if l := r.Latency; l != nil && !r.failed(ScenarioLatency) {
		r.target(fmt.Sprintf("p99 send→deliver at %.0f msg/s", l.Params.Rate), "≤ 5 ms",
			ms(l.Deliver.P99Ms), l.Deliver.P99Ms <= 5 && l.Deliver.Count > 0)
		for _, p := range l.Peers {
			if p.System != "jetstream-always" || p.Deliver.Count == 0 {
				continue
			}
			r.target("p99 send→deliver vs JetStream-always, same run", "≤ 1.00×",
				fmt.Sprintf("%s vs %s", ms(l.Deliver.P99Ms), ms(p.Deliver.P99Ms)),
				l.Deliver.Count > 0 && l.Deliver.P99Ms <= p.Deliver.P99Ms)
		}
	}
	if f := r.Failover; f != nil && !r.failed(ScenarioFailover) {
		r.target("failover gap", "≤ 500 ms", ms(f.GapMs), f.GapMs <= 500)
		r.target("failover lost / duplicated", "0 / 0", fmt.Sprintf("%d / %d", f.Lost, f.Dups), f.Correct())
	}
	if c := r.Reconnect; c != nil && !r.failed(ScenarioReconnect) {
		r.target("reconnect: delivering again", "≤ 1 s", ms(c.ResumeMs), c.ResumeMs <= 1000)
		r.target("reconnect: gaps", "0", fmt.Sprint(c.Gaps), c.Gaps == 0 && c.Dups == 0)
	}
	if f := r.Fanout; f != nil && !r.failed(ScenarioFanout) {
		r.target("fanout deliveries/s", "≥ 100,000", thousands(f.DeliveriesPerSec), f.DeliveriesPerSec >= 100000)
	}
	for _, m := range r.Memory {
		if m.Profile == "small" {
			r.target("idle RSS per node, --profile small", "≤ 64 MiB", fmt.Sprintf("%.1f MiB", m.MaxIdleMiB), m.MaxIdleMiB <= 64)
		}
		if st := m.Settled; st.RSS != nil {
			if m.Profile == "small" {
				r.target("settled idle RSS per node, --profile small", "≤ 40 MiB", fmt.Sprintf("%.1f MiB", st.MaxMiB), st.Settled && st.MaxMiB <= 40)
			}
			r.target("settled idle CPU per node, --profile "+m.Profile, "≤ 2%", fmt.Sprintf("%.1f%%", st.MaxCPU), st.Settled && st.MaxCPU <= 2)
		}
	}
}

func (r *Report) target(name, goal, value string, met bool) {
	r.Targets = append(r.Targets, Target{Name: name, Goal: goal, Value: value, Met: met})
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// WriteTable writes the report as a human-readable table.
func (r *Report) WriteTable(w io.Writer) error {
	m := r.Machine
	mode := "full"
	if r.Quick {
		mode = "quick"
	}
	fmt.Fprintf(w, "Parley benchmark, %s run, %s, took %.0fs\n", mode, r.Started.Format("2006-01-02 15:04 MST"), r.DurationS)
	fmt.Fprintf(w, "machine: %d cores %s, %.1f GiB, %s %s, load avg %.2f at start\n",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.GoVersion, m.GOARCH, m.LoadAvg)
	fmt.Fprintf(w, "parley: 3 nodes (separate processes) on 127.0.0.1, --profile %s, %d room shards, fsync on\n\n", r.Profile, r.Shards)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tsystem\tresult\tdetail")
	for _, t := range r.sortedThroughput() {
		servers, load := t.CPU.split()
		fmt.Fprintf(tw, "throughput\t%s\t%s msg/s\t%.0f µs server CPU/msg; %s%sack p50 %s p99 %s; CPU servers %.0f%% + load %.0f%%%s; %d senders, %d rooms, %d B; %s\n",
			t.System, thousands(t.MsgPerSec), t.ServerCPUUsPerMsg, spreadNote(t), leadersNote(t), ms(t.Ack.P50Ms), ms(t.Ack.P99Ms), servers, load, hostNote(t.Host),
			t.Params.Senders, t.Params.Rooms, t.Params.Payload, t.Note)
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(tw, "latency\tparley\tp99 %s\tsend→deliver p50 %s p90 %s p99.9 %s max %s at %.0f msg/s; %d/%d delivered; ack p99 %s; %s\n",
			ms(l.Deliver.P99Ms), ms(l.Deliver.P50Ms), ms(l.Deliver.P90Ms), ms(l.Deliver.P999Ms), ms(l.Deliver.MaxMs),
			l.Params.Rate, l.Delivered, l.Acked, ms(l.Ack.P99Ms), l.setupNote())
		for _, p := range l.Peers {
			fmt.Fprintf(tw, "latency\t%s\tp99 %s\tsend→deliver p50 %s p90 %s p99.9 %s max %s at %.0f msg/s; %d/%d delivered; ack p99 %s; senders on %s, subscriber on %s; %s\n",
				p.System, ms(p.Deliver.P99Ms), ms(p.Deliver.P50Ms), ms(p.Deliver.P90Ms), ms(p.Deliver.P999Ms), ms(p.Deliver.MaxMs),
				l.Params.Rate, p.Delivered, p.Acked, ms(p.Ack.P99Ms), strings.Join(p.SenderServers, ", "), p.SubscriberServer, p.Note)
		}
		fmt.Fprintf(tw, "latency\tweb\tp99 %s\tsend→deliver p50 %s p99.9 %s max %s on the same node's WebSocket, same messages; %d/%d delivered\n",
			ms(l.WebDeliver.P99Ms), ms(l.WebDeliver.P50Ms), ms(l.WebDeliver.P999Ms), ms(l.WebDeliver.MaxMs),
			l.WebDelivered, l.Acked)
	}
	if f := r.Fanout; f != nil {
		fmt.Fprintf(tw, "fanout\tparley\t%s deliveries/s\t%d subscribers, %s msg/s into 1 room; %d/%d complete, drain %.1fs\n",
			thousands(f.DeliveriesPerSec), f.Params.Subscribers, thousands(f.MsgPerSec), f.Complete, f.Params.Subscribers, f.DrainS)
	}
	if f := r.Failover; f != nil {
		fmt.Fprintf(tw, "failover\tparley\tgap %s\tkilled %s (leader of shard %d) at %.0f msg/s; worst client on %s; cluster-wide gap %s; lost %d, dup %d; every client and room acked again after %s; ack p99 %s (before kill %s); restarted node caught up in %s\n",
			ms(f.GapMs), f.Killed, f.Shard, f.Params.Rate, f.GapClientNode, ms(f.ClusterGapMs), f.Lost, f.Dups, ms(f.RecoveryMs), ms(f.Ack.P99Ms), ms(f.BeforeP99Ms), ms(f.CatchUpMs))
	}
	if c := r.Reconnect; c != nil {
		fmt.Fprintf(tw, "reconnect\tparley\tresumed %s\tkilled subscriber's node %s; gaps %d, dups %d; %d/%d received\n",
			ms(c.ResumeMs), c.Killed, c.Gaps, c.Dups, c.Received, c.LastSeq)
	}
	if b := r.Rebalance; b != nil {
		fmt.Fprintf(tw, "rebalance\tparley\tsettled %.1fs\tadded a node to %d under %.0f msg/s; %d replicas moved, ideal %d; ack p99 %s during the move, %s before; %d failed\n",
			b.SettleS, b.Params.Nodes, b.Params.Rate, b.Moved, b.Ideal, ms(b.During.P99Ms), ms(b.Before.P99Ms), b.Failed)
	}
	if a := r.Analytics; a != nil {
		for _, j := range a.Jobs {
			fmt.Fprintf(tw, "analytics\tparley %s\t%.2fs, %s msg/s\t%d tasks over %d messages in %d rooms; peak RSS per node %s; single-threaded scan of the JSON Lines export %.2fs (%s msg/s): parley %.2f× as fast; same rows: %v\n",
				j.Job, j.WallS, thousands(j.ScannedPerSec), j.Tasks, j.Scanned, a.Params.Rooms, rssList(j.RSS, true),
				j.BaselineS, thousands(j.BaselinePerSec), j.SpeedUp, j.Match)
		}
	}
	for _, mr := range r.Memory {
		fmt.Fprintf(tw, "memory\tparley --profile %s\tidle %.0f MiB\t%d room shards; per node after %.0fs idle %s; peak under load %s (%s msg/s); idle CPU %s\n",
			mr.Profile, mr.MaxIdleMiB, mr.Shards, mr.IdleS, rssList(mr.Idle, false), rssList(mr.Load, true), thousands(mr.MsgPerSec), cpuList(mr.IdleCPU))
		if st := mr.Settled; st.RSS != nil {
			how := fmt.Sprintf("settled %.1fs later", st.SettleS)
			if !st.Settled {
				how = fmt.Sprintf("not settled after %.1fs (%s)", st.SettleS, st.Error)
			}
			fmt.Fprintf(tw, "memory\tparley --profile %s, settled\tidle %.0f MiB, %.1f%% CPU\t%s; then over %.0fs idle: RSS %s; CPU %s%s\n",
				mr.Profile, st.MaxMiB, st.MaxCPU, how, st.WindowS, rssList(st.RSS, false), cpuList(st.CPU), hostNote(st.Host))
		}
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if len(r.LoadAvg) > 0 {
		var parts []string
		for _, s := range AllScenarios {
			if v, ok := r.LoadAvg[s]; ok {
				parts = append(parts, fmt.Sprintf("%s %.1f", s, v))
			}
		}
		fmt.Fprintf(w, "\nload average (1 min) as each scenario started: %s\n", strings.Join(parts, ", "))
	}
	if len(r.Ratios) > 0 {
		fmt.Fprintln(w)
		for _, ra := range r.Ratios {
			fmt.Fprintf(w, "ratio %s = %.2f\n", ra.Name, ra.Value)
		}
	}
	if len(r.Targets) > 0 {
		fmt.Fprintln(w, "\ntargets (reported, not asserted):")
		tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
		for _, t := range r.Targets {
			verdict := "missed"
			if t.Met {
				verdict = "met"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, t.Goal, t.Value, verdict)
		}
		if err := tw.Flush(); err != nil {
			return fmt.Errorf("report: %w", err)
		}
	}
	for _, e := range r.Errors {
		fmt.Fprintf(w, "\nFAILED %s: %s\n", e.Scenario, e.Error)
	}
	return nil
}

// systemOrder is the order of the throughput rows: Parley, then its peers.
var systemOrder = []string{"parley", "parley-5-nodes", "raw-dragonboat", "raw-dragonboat-dense-ids", "raw-dragonboat-1shard", "jetstream-default", "jetstream-always", "jetstream-always-busy-shards", "jetstream-always-stream-per-room"}

// sortedThroughput returns the throughput results in systemOrder.
func (r *Report) sortedThroughput() []ThroughputResult {
	out := slices.Clone(r.Throughput)
	rank := func(s string) int {
		if i := slices.Index(systemOrder, s); i >= 0 {
			return i
		}
		return len(systemOrder)
	}
	slices.SortStableFunc(out, func(a, b ThroughputResult) int { return rank(a.System) - rank(b.System) })
	return out
}

// ms formats milliseconds.
func ms(v float64) string {
	switch {
	case v >= 1000:
		return fmt.Sprintf("%.1fs", v/1000)
	case v >= 100:
		return fmt.Sprintf("%.0fms", v)
	default:
		return fmt.Sprintf("%.1fms", v)
	}
}

// thousands formats v rounded, with comma separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// rssList formats each node's RSS (or peak), in node order.
func rssList(m map[string]RSS, peak bool) string {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		v := m[n].Current
		if peak {
			v = m[n].Peak
		}
		parts[i] = fmt.Sprintf("%s %.0f", n, v)
	}
	return strings.Join(parts, ", ") + " MiB"
}

// leadersNote formats where a Parley row's busy shards had their leaders.
func leadersNote(t ThroughputResult) string {
	if len(t.Leaders) == 0 {
		return ""
	}
	return "busy-shard leaders " + countList(t.Leaders) + "; "
}

// cpuList formats each process's CPU use, in name order.
func cpuList(c CPU) string {
	names := make([]string, 0, len(c))
	for k := range c {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s %.0f%%", n, c[n])
	}
	return strings.Join(parts, ", ")
}

// Check returns an error if a scenario failed, the failover scenario lost,
// duplicated or reordered anything, or an analytics job's answer differs
// from the single-threaded scan's: the only things a run asserts.
func (r *Report) Check() error {
	var errs []string
	for _, e := range r.Errors {
		errs = append(errs, fmt.Sprintf("%s failed: %s", e.Scenario, firstLine(e.Error)))
	}
	if f := r.Failover; f != nil && !f.Correct() {
		errs = append(errs, fmt.Sprintf("failover lost %d, duplicated %d, gaps %d, diverged %q", f.Lost, f.Dups, f.Gaps, f.Diverged))
	}
	if a := r.Analytics; a != nil {
		for _, j := range a.Jobs {
			if !j.Match {
				errs = append(errs, fmt.Sprintf("analytics %s: the cluster's rows differ from the single-threaded scan's", j.Job))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("bench: %s", strings.Join(errs, "; "))
	}
	return nil
}

// firstLine returns s up to its first newline.
func firstLine(s string) string {
	first, _, _ := strings.Cut(s, "\n")
	return first
}

// hostNote describes how the machine's CPU went during a reading, "" if
// unknown. Steal is CPU the hypervisor gave to other guests: readings
// whose steal differs are not comparable.
func hostNote(h *HostCPU) string {
	if h == nil {
		return ""
	}
	return fmt.Sprintf(" (host: idle %.0f%%, iowait %.0f%%, steal %.0f%%)", h.IdlePct, h.IOWaitPct, h.StealPct)
}
