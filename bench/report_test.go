package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// sampleReport is a report of every scenario with made-up numbers.
func sampleReport() *Report {
	tp := ThroughputParams{Senders: 64, Rooms: 16, Payload: 128}
	r := &Report{
		Started: t0, DurationS: 123, Machine: Machine{CPUs: 2, CPUModel: "Test CPU", MemoryGiB: 24},
		Profile: "default", Shards: 16, Ran: []string{"throughput"},
		Throughput: []ThroughputResult{
			{System: "jetstream-default", Params: tp, MsgPerSec: 4000},
			{System: "parley", Params: tp, MsgPerSec: 1800, Ack: Latency{P50Ms: 30, P99Ms: 70},
				CPU: CPU{"n1": 40, "n2": 10, "n3": 20, "bench": 50}, Host: &HostCPU{IdlePct: 12.4, IOWaitPct: 0.2, StealPct: 3}},
			{System: "raw-dragonboat", Params: tp, MsgPerSec: 2000, CPU: CPU{"r1": 30, "r2": 10, "r3": 10, "load": 40}},
		},
		Latency: &LatencyResult{Params: LatencyParams{Rate: 1000}, Deliver: Latency{Count: 10, P99Ms: 4},
			Peers: []LatencyPeer{{System: "jetstream-always", Deliver: Latency{Count: 10, P90Ms: 3, P99Ms: 6}, SenderServers: []string{"nats1", "nats3"}, SubscriberServer: "nats2"}}},
		Fanout:    &FanoutResult{Params: FanoutParams{Subscribers: 100}, DeliveriesPerSec: 123456.7},
		Failover:  &FailoverResult{GapMs: 700, Lost: 0, Dups: 1},
		Reconnect: &ReconnectResult{ResumeMs: 900},
		Memory: []MemoryResult{{Profile: "small", MaxIdleMiB: 40, Idle: map[string]RSS{"n1": {Current: 40}},
			Settled: SettledIdle{Settled: true, RSS: map[string]RSS{"n1": {Current: 39}}, MaxMiB: 39, CPU: CPU{"n1": 2.5}, MaxCPU: 2.5}}},
	}
	r.finish()
	return r
}

func TestReportRatiosAndTargets(t *testing.T) {
	r := sampleReport()
	ratios := map[string]float64{}
	for _, ra := range r.Ratios {
		ratios[ra.Name] = ra.Value
	}
	if ratios["parley/raw-dragonboat"] != 0.9 || ratios["parley/jetstream-default"] != 0.45 {
		t.Fatalf("ratios %v", ratios)
	}
	met := map[string]bool{}
	for _, tg := range r.Targets {
		met[tg.Name] = tg.Met
	}
	want := map[string]bool{
		"throughput vs raw dragonboat":                   true,
		"throughput vs JetStream (default sync)":         false,
		"p99 send→deliver at 1000 msg/s":                 true,
		"p99 send→deliver vs JetStream-always, same run": true,
		"failover gap":                               false,
		"failover lost / duplicated":                 false,
		"reconnect: delivering again":                true,
		"reconnect: gaps":                            true,
		"fanout deliveries/s":                        true,
		"idle RSS per node, --profile small":         true,
		"settled idle RSS per node, --profile small": true,
		"settled idle CPU per node, --profile small": false,
		"server CPU per message vs raw dragonboat":   false,
	}
	for name, w := range want {
		got, ok := met[name]
		if !ok || got != w {
			t.Errorf("target %q: met=%v (present %v), want %v", name, got, ok, w)
		}
	}
	if err := r.Check(); err == nil || !strings.Contains(err.Error(), "duplicated 1") {
		t.Fatalf("Check: %v, want the failover duplicate reported", err)
	}
	r.Failover.Dups = 0
	if err := r.Check(); err != nil {
		t.Fatalf("Check of a clean run: %v", err)
	}
	r.Errors = append(r.Errors, ScenarioError{Scenario: "fanout", Error: "boom\nlogs..."})
	if err := r.Check(); err == nil || !strings.Contains(err.Error(), "fanout failed: boom") {
		t.Fatalf("Check: %v, want the failed scenario", err)
	}
}

// TestServerCPUPerMessage checks the yardstick: the servers' CPU, without
// the load generator's, per committed message.
func TestServerCPUPerMessage(t *testing.T) {
	r := sampleReport()
	// parley: 70% of a core at 1800 msg/s; raw: 50% at 2000 msg/s.
	for sys, want := range map[string]float64{"parley": 388.889, "raw-dragonboat": 250, "jetstream-default": 0} {
		if got := r.throughputOf(sys).ServerCPUUsPerMsg; got != want {
			t.Errorf("%s: %v µs per message, want %v", sys, got, want)
		}
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "389 µs server CPU/msg") {
		t.Errorf("table lacks parley's CPU per message:\n%s", b.String())
	}
}

func TestReportJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteJSON(&b); err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"started", "machine", "throughput", "latency", "fanout", "failover", "reconnect", "memory", "ratios", "targets"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON has no %q", k)
		}
	}
	tp := m["throughput"].([]any)[1].(map[string]any)
	for _, k := range []string{"system", "msg_per_sec", "ack_latency", "params", "server_cpu_us_per_msg"} {
		if _, ok := tp[k]; !ok {
			t.Errorf("throughput entry has no %q", k)
		}
	}
	if p99 := tp["ack_latency"].(map[string]any)["p99_ms"]; p99 != 70.0 {
		t.Errorf("ack p99 %v, want 70", p99)
	}
	var back Report
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || back.Failover.GapMs != 700 {
		t.Fatalf("round trip: %v, %+v", err, back.Failover)
	}
}

func TestReportTable(t *testing.T) {
	var b bytes.Buffer
	if err := sampleReport().WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"2 cores Test CPU", "1,800 msg/s", "jetstream-always", "p99 6.0ms", "p90 3.0ms", "subscriber on nats2", "123,457 deliveries/s", "ratio parley/raw-dragonboat = 0.90", "missed", "met",
		"CPU servers 70% + load 50% (host: idle 12%, iowait 0%, steal 3%);"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// Parley's row comes first among the throughput rows.
	if strings.Index(out, "throughput  parley") > strings.Index(out, "throughput  raw-dragonboat") {
		t.Errorf("parley is not the first throughput row:\n%s", out)
	}
}

func TestFormatting(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.8: "1,234,568", -4500: "-4,500"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{1.25: "1.2ms", 150: "150ms", 999: "999ms", 8150: "8.2s"} {
		if got := ms(in); got != want {
			t.Errorf("ms(%v) = %q, want %q", in, got, want)
		}
	}
}

func TestFailedScenarioHasNoTarget(t *testing.T) {
	r := sampleReport()
	r.Failover = &FailoverResult{} // partial: the scenario failed before the kill
	r.Errors = []ScenarioError{{Scenario: ScenarioFailover, Error: "dial: timeout"}}
	r.finish()
	for _, tg := range r.Targets {
		if strings.HasPrefix(tg.Name, "failover") {
			t.Errorf("target %q reported for a failed scenario", tg.Name)
		}
	}
	if err := r.Check(); err == nil {
		t.Fatal("Check passed a failed scenario")
	}
}

// TestMedianRows checks that repeated runs reduce to the median run per
// system, with the median CPU per message and the spread of both.
func TestMedianRows(t *testing.T) {
	run := func(sys string, msgs, cpu float64, round int) ThroughputResult {
		return ThroughputResult{System: sys, MsgPerSec: msgs, CPU: CPU{"n1": cpu, "bench": 99}, Round: round}
	}
	runs := []ThroughputResult{
		run("raw-dragonboat", 5000, 50, 1), run("parley", 1000, 50, 1),
		run("parley", 3000, 60, 2), run("raw-dragonboat", 7000, 70, 2),
		run("parley", 2000, 80, 3), run("raw-dragonboat", 6000, 90, 3),
	}
	rows := medianRows(runs)
	if len(rows) != 2 || rows[0].System != "raw-dragonboat" || rows[1].System != "parley" {
		t.Fatalf("rows %+v", rows)
	}
	p := rows[1]
	// parley's runs: 500, 200 and 400 µs per message.
	if p.MsgPerSec != 2000 || p.ServerCPUUsPerMsg != 400 || p.Round != 0 {
		t.Fatalf("parley median %+v", p)
	}
	if s := *p.Spread; s != (Spread{Runs: 3, MsgPerSecMin: 1000, MsgPerSecMax: 3000, CPUUsMin: 200, CPUUsMax: 500}) {
		t.Fatalf("parley spread %+v", s)
	}
	r := &Report{Throughput: rows}
	r.finish()
	if r.Throughput[1].ServerCPUUsPerMsg != 400 {
		t.Fatalf("finish replaced the median CPU per message: %v", r.Throughput[1].ServerCPUUsPerMsg)
	}
	var b bytes.Buffer
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "median of 3 runs: 1,000–3,000 msg/s, 200–500 µs/msg") {
		t.Fatalf("table lacks the spread:\n%s", b.String())
	}
}

func TestRoundOrderRotates(t *testing.T) {
	sel := []string{"raw", "jetstream", "throughput"}
	got := [][]string{roundOrder(sel, 0), roundOrder(sel, 1), roundOrder(sel, 2)}
	want := "[[raw jetstream throughput] [jetstream throughput raw] [throughput raw jetstream]]"
	if fmt.Sprint(got) != want {
		t.Fatalf("orders %v, want %v", got, want)
	}
}

// TestLatencyTargets checks both latency targets: Parley's p99 within
// 5 ms, and no worse than JetStream-always's in the same run.
func TestLatencyTargets(t *testing.T) {
	met := func(r *Report) map[string]bool {
		r.finish()
		out := map[string]bool{}
		for _, tg := range r.Targets {
			out[tg.Name] = tg.Met
		}
		return out
	}
	r := sampleReport()
	r.Latency.Deliver.P99Ms = 7 // above 5 ms and above JetStream's 6 ms
	m := met(r)
	if m["p99 send→deliver at 1000 msg/s"] || m["p99 send→deliver vs JetStream-always, same run"] {
		t.Fatalf("targets %v, want both missed", m)
	}
	r.Latency.Peers[0].Deliver.P99Ms = 9 // Parley beats the peer but misses 5 ms
	m = met(r)
	if m["p99 send→deliver at 1000 msg/s"] || !m["p99 send→deliver vs JetStream-always, same run"] {
		t.Fatalf("targets %v, want the 5 ms one missed, the peer one met", m)
	}
	r.Latency.Peers = nil
	if _, ok := met(r)["p99 send→deliver vs JetStream-always, same run"]; ok {
		t.Fatal("peer target reported without a peer")
	}
}
