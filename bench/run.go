package bench

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/parleychat/parley/placement"
)

// Scenario names, in the order "all" runs them. The peers run first, while
// no Parley node is up, so that they have the machine to themselves.
const (
	ScenarioRaw        = "raw"
	ScenarioJetStream  = "jetstream"
	ScenarioThroughput = "throughput"
	ScenarioLatency    = "latency"
	ScenarioFanout     = "fanout"
	ScenarioReconnect  = "reconnect"
	ScenarioFailover   = "failover"
	ScenarioMemory     = "memory"
	// ScenarioRebalance adds a node to a loaded 5-node cluster, and
	// measures a 5-node cluster's throughput first.
	ScenarioRebalance = "rebalance"
	ScenarioAnalytics = "analytics"
)

// AllScenarios lists every scenario in running order.
var AllScenarios = []string{
	ScenarioRaw, ScenarioJetStream, ScenarioThroughput, ScenarioLatency,
	ScenarioFanout, ScenarioReconnect, ScenarioFailover, ScenarioRebalance, ScenarioAnalytics, ScenarioMemory,
}

// Options configures Run.
type Options struct {
	// BinDir holds parleyd, parley-rawnode and parley-natspeer.
	BinDir string
	// WorkDir holds the clusters' data and logs; Keep keeps it afterwards.
	WorkDir string
	Keep    bool
	// Profile and Shards shape the Parley cluster of every scenario but
	// memory, and the raw peer's settings. Shards 0 is the profile's
	// default; the memory scenario then gives each profile its own.
	Profile string
	Shards  int
	// Quick marks a short run (the parameters say how short).
	Quick bool
	// RawOneShard also runs the raw peer with every room on one shard,
	// to show what spreading over shards costs or gains.
	RawOneShard bool
	// RawDenseIDs also runs the raw peer with the room shards numbered
	// 2, 3, 4, … (as Parley once did) instead of placement.RoomShards's
	// multiples of 4, so that dragonboat spreads them over its four TCP
	// streams per peer: what one stream gains.
	RawDenseIDs bool
	// RawNoTLS runs the raw peer without mutual TLS (Parley always has it).
	RawNoTLS bool
	// NatsStreams is how many R3 streams JetStream spreads the rooms over.
	NatsStreams int
	// NatsPerRoom also runs JetStream (sync_interval: always) with one R3
	// stream per room, each its own Raft group like a Parley shard.
	NatsPerRoom bool
	// NatsBusyShards also runs JetStream (sync_interval: always) with as
	// many R3 streams as Parley's throughput rooms occupy room shards.
	NatsBusyShards bool
	// LatencyPeer also measures JetStream (sync_interval: always, with
	// NatsStreams streams) under the latency scenario's load, before
	// Parley, with no Parley node up.
	LatencyPeer bool
	// Repeats runs each throughput row (raw, jetstream, throughput) this
	// many times in rotated order, settling between runs, and reports the
	// median and the spread; 0 or 1 runs each once.
	Repeats int
	// Log receives progress messages.
	Log *slog.Logger
	// NodeLogLevel is the Parley nodes' --log-level (default warn).
	NodeLogLevel string

	Throughput ThroughputParams
	Latency    LatencyParams
	Fanout     FanoutParams
	Failover   FailoverParams
	Reconnect  ReconnectParams
	Memory     MemoryParams
	Rebalance  RebalanceParams
	Analytics  AnalyticsParams
}

// DefaultOptions returns the parameters of a full run, or of a quick one
// (a few seconds per scenario, the same shapes).
func DefaultOptions(quick bool) Options {
	o := Options{
		Profile: "default", Quick: quick, RawOneShard: !quick, RawDenseIDs: !quick, NatsStreams: 1, NatsPerRoom: !quick, NatsBusyShards: !quick, LatencyPeer: true, Repeats: 3,
		Throughput: ThroughputParams{Senders: 64, Rooms: 16, Payload: 128, Warmup: 3 * time.Second, Duration: 20 * time.Second, LeaderWait: DefaultLeaderWait},
		Latency:    LatencyParams{Rate: 1000, Rooms: 16, Senders: 8, Workers: 64, Payload: 128, Warmup: 3 * time.Second, Duration: 20 * time.Second, LeaderWait: DefaultLeaderWait},
		Fanout:     FanoutParams{Subscribers: 100, Senders: 64, Payload: 128, Warmup: 2 * time.Second, Duration: 15 * time.Second},
		Failover:   FailoverParams{Rate: 1000, Rooms: 16, Senders: 12, Workers: 64, Payload: 128, Before: 10 * time.Second, After: 20 * time.Second},
		Reconnect:  ReconnectParams{Rate: 200, Payload: 128, Before: 5 * time.Second, After: 10 * time.Second},
		Memory:     MemoryParams{Profiles: []string{"small", "default"}, Idle: 10 * time.Second, SettleLimit: 60 * time.Second, Window: 10 * time.Second},
		Rebalance:  RebalanceParams{Nodes: 5, Rate: 500, Rooms: 16, Senders: 10, Workers: 64, Payload: 128, Before: 10 * time.Second, After: 30 * time.Second},
		Analytics:  AnalyticsParams{Messages: 1_000_000, Rooms: 64, Senders: 64, Query: `pizza.*(coffee|tea)`},
	}
	if quick {
		o.Repeats = 1
		o.Throughput.Warmup, o.Throughput.Duration = time.Second, 3*time.Second
		o.Latency.Warmup, o.Latency.Duration = time.Second, 3*time.Second
		o.Throughput.LeaderWait, o.Latency.LeaderWait = QuickLeaderWait, QuickLeaderWait
		o.Fanout.Warmup, o.Fanout.Duration = time.Second, 3*time.Second
		o.Failover.Before, o.Failover.After = 3*time.Second, 5*time.Second
		o.Reconnect.Before, o.Reconnect.After = 2*time.Second, 4*time.Second
		o.Memory.Idle, o.Memory.SettleLimit = 3*time.Second, 30*time.Second
		o.Rebalance.Before, o.Rebalance.After = 3*time.Second, 10*time.Second
		o.Analytics.Messages, o.Analytics.Senders = 20_000, 32
	}
	o.Memory.Load = o.Throughput
	o.Memory.Load.LeaderWait = 0 // memory under load, not speed: no need to wait
	return o
}

// runner holds the state of one Run.
type runner struct {
	o       Options
	round   int // the round of a repeated throughput run, 0 if not repeated
	rep     *Report
	cluster *Cluster // the shared Parley cluster, started on first use
}

// Run runs the named scenarios (every one if none), in AllScenarios
// order, and returns the report. A failed scenario is recorded in the
// report's Errors and the run goes on; ctx ending stops it.
func Run(ctx context.Context, o Options, scenarios []string) (*Report, error) {
	if len(scenarios) == 0 {
		scenarios = AllScenarios
	}
	for _, s := range scenarios {
		if !slices.Contains(AllScenarios, s) {
			return nil, fmt.Errorf("bench: unknown scenario %q", s)
		}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.WorkDir == "" {
		dir, err := os.MkdirTemp("", "parley-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		o.WorkDir = dir
	}
	if !o.Keep {
		defer os.RemoveAll(o.WorkDir)
	}
	r := &runner{o: o, rep: &Report{
		Started: time.Now(), Quick: o.Quick, Machine: DescribeMachine(), Profile: o.Profile,
	}}
	r.rep.Shards = r.shards()
	defer r.closeCluster()
	var rounds map[string]error // the outcome of the repeated throughput rows
	for _, s := range AllScenarios {
		if !slices.Contains(scenarios, s) || ctx.Err() != nil {
			continue
		}
		if o.Repeats > 1 && slices.Contains(throughputScenarios, s) {
			if rounds == nil {
				var selected []string
				for _, t := range throughputScenarios {
					if slices.Contains(scenarios, t) {
						selected = append(selected, t)
					}
				}
				if r.rep.LoadAvg == nil {
					r.rep.LoadAvg = make(map[string]float64)
				}
				r.rep.LoadAvg[s] = loadAvg()
				rounds = r.runThroughputRounds(ctx, selected)
			}
			if err := rounds[s]; err != nil {
				r.rep.Errors = append(r.rep.Errors, ScenarioError{Scenario: s, Error: err.Error()})
			} else if ctx.Err() == nil {
				r.rep.Ran = append(r.rep.Ran, s)
			}
			continue
		}
		o.Log.Info("scenario", "name", s)
		t0 := time.Now()
		if r.rep.LoadAvg == nil {
			r.rep.LoadAvg = make(map[string]float64)
		}
		r.rep.LoadAvg[s] = loadAvg()
		err := r.run(ctx, s)
		if err != nil {
			o.Log.Error("scenario failed", "name", s, "err", err)
			r.rep.Errors = append(r.rep.Errors, ScenarioError{Scenario: s, Error: err.Error()})
			if r.cluster != nil {
				err = errors.Join(err, errors.New(r.cluster.Logs()))
				r.rep.Errors[len(r.rep.Errors)-1].Error = err.Error()
				r.closeCluster() // the next scenario gets a fresh one
			}
			continue
		}
		o.Log.Info("scenario done", "name", s, "took", time.Since(t0).Round(time.Millisecond))
		r.rep.Ran = append(r.rep.Ran, s)
	}
	r.rep.DurationS = round3(time.Since(r.rep.Started).Seconds())
	r.rep.finish()
	return r.rep, ctx.Err()
}

// runDir returns the work directory of a peer's run: a fresh one per
// round of repeated runs.
func (r *runner) runDir(system string) string {
	if r.round > 0 {
		system = fmt.Sprintf("%s-round%d", system, r.round)
	}
	return filepath.Join(r.o.WorkDir, system)
}

// bin returns the path of one of the binaries.
func (r *runner) bin(name string) string { return filepath.Join(r.o.BinDir, name) }

// parley returns the shared Parley cluster, starting it if needed.
func (r *runner) parley(ctx context.Context) (*Cluster, error) {
	if r.cluster != nil {
		return r.cluster, nil
	}
	t0 := time.Now()
	c, err := StartCluster(ctx, ClusterOptions{
		Parleyd: r.bin("parleyd"), Dir: filepath.Join(r.o.WorkDir, fmt.Sprintf("parley-%d", time.Now().UnixNano())),
		Shards: r.shards(), Profile: r.o.Profile, Log: r.o.Log, NodeLogLevel: r.o.NodeLogLevel,
	})
	if err != nil {
		return nil, err
	}
	r.o.Log.Info("parley cluster up", "took", time.Since(t0).Round(time.Millisecond))
	r.cluster = c
	return c, nil
}

func (r *runner) closeCluster() {
	if r.cluster != nil {
		r.cluster.Close()
		r.cluster = nil
	}
}

// shards is the number of room shards of the clusters of every scenario
// but memory.
func (r *runner) shards() int {
	if r.o.Shards > 0 {
		return r.o.Shards
	}
	return profileShards(r.o.Profile)
}

// busyShards returns how many of Parley's room shards the throughput
// rooms fall on: like with like, JetStream gets as many streams (Raft
// groups) as Parley has busy shards.
func (r *runner) busyShards() int {
	ring := placement.NewRing(r.roomShards())
	seen := make(map[uint64]bool)
	for i := range r.o.Throughput.Rooms {
		seen[ring.Shard(roomName("tp", i))] = true
	}
	return len(seen)
}

// roomShards returns the room shard ids of the clusters of r.shards().
func (r *runner) roomShards() []uint64 {
	return placement.RoomShards(r.shards())
}

// run runs one scenario and records its results.
func (r *runner) run(ctx context.Context, s string) error {
	switch s {
	case ScenarioRaw:
		return r.runRaw(ctx)
	case ScenarioJetStream:
		return r.runJetStream(ctx)
	case ScenarioThroughput:
		c, err := r.parley(ctx)
		if err != nil {
			return err
		}
		res, err := RunThroughput(ctx, c, r.o.Throughput)
		if err != nil {
			return err
		}
		r.rep.Throughput = append(r.rep.Throughput, res)
	case ScenarioLatency:
		return r.runLatency(ctx)
	case ScenarioFanout:
		c, err := r.parley(ctx)
		if err != nil {
			return err
		}
		res, err := RunFanout(ctx, c, r.o.Fanout)
		if err != nil {
			return err
		}
		r.rep.Fanout = &res
	case ScenarioReconnect:
		c, err := r.parley(ctx)
		if err != nil {
			return err
		}
		res, err := RunReconnect(ctx, c, r.o.Reconnect)
		if res.Received > 0 {
			r.rep.Reconnect = &res // partial results help explain a failure
		}
		return err
	case ScenarioFailover:
		c, err := r.parley(ctx)
		if err != nil {
			return err
		}
		res, err := RunFailover(ctx, c, r.o.Failover)
		if res.Offered > 0 {
			r.rep.Failover = &res // partial results help explain a failure
		}
		return err
	case ScenarioRebalance:
		r.closeCluster()
		tr, res, err := RunRebalance(ctx, ClusterOptions{
			Parleyd: r.bin("parleyd"), Dir: filepath.Join(r.o.WorkDir, fmt.Sprintf("rebalance-%d", time.Now().UnixNano())),
			Shards: r.shards(), Profile: r.o.Profile, Log: r.o.Log, NodeLogLevel: r.o.NodeLogLevel,
		}, r.o.Throughput, r.o.Rebalance)
		if tr.Acked > 0 {
			r.rep.Throughput = append(r.rep.Throughput, tr)
		}
		if res.Offered > 0 {
			r.rep.Rebalance = &res
		}
		return err
	case ScenarioAnalytics:
		c, err := r.parley(ctx)
		if err != nil {
			return err
		}
		res, err := RunAnalytics(ctx, c, r.o.WorkDir, r.o.Analytics)
		if len(res.Jobs) > 0 || res.LoadS > 0 {
			r.rep.Analytics = &res
		}
		return err
	case ScenarioMemory:
		r.closeCluster()
		res, err := RunMemory(ctx, ClusterOptions{
			Parleyd: r.bin("parleyd"), Dir: r.o.WorkDir, Shards: r.o.Shards, Log: r.o.Log, NodeLogLevel: r.o.NodeLogLevel,
		}, r.o.Memory)
		r.rep.Memory = res
		return err
	}
	return nil
}

// runRaw measures the raw dragonboat peer, with every room on the shard
// Parley's ring gives it, and then (if asked) with the shards numbered
// densely and with every room on one shard.
// Like a Parley node, each raw node also hosts an idle shard 1 (Parley's
// registry).
func (r *runner) runRaw(ctx context.Context) error {
	ring := placement.NewRing(r.roomShards())
	hosted := append([]uint64{placement.RegistryShard}, r.roomShards()...)
	if err := r.rawOnce(ctx, "raw-dragonboat", hosted, ring.Shard); err != nil {
		return err
	}
	if r.o.RawDenseIDs {
		// The same rooms on the same shards, only numbered 2, 3, 4, ….
		dense := make(map[uint64]uint64)
		hosted := []uint64{placement.RegistryShard}
		for i, s := range r.roomShards() {
			dense[s] = placement.RegistryShard + 1 + uint64(i)
			hosted = append(hosted, dense[s])
		}
		shardOf := func(room string) uint64 { return dense[ring.Shard(room)] }
		if err := r.rawOnce(ctx, "raw-dragonboat-dense-ids", hosted, shardOf); err != nil {
			return err
		}
	}
	if !r.o.RawOneShard {
		return nil
	}
	one := r.roomShards()[:1]
	return r.rawOnce(ctx, "raw-dragonboat-1shard", one, func(string) uint64 { return one[0] })
}

func (r *runner) rawOnce(ctx context.Context, system string, shards []uint64, shardOf func(string) uint64) error {
	rc, err := StartRaw(ctx, RawOptions{
		Bin: r.bin("parley-rawnode"), Dir: r.runDir(system), Profile: r.o.Profile,
		Shards: shards, NoTLS: r.o.RawNoTLS, Log: r.o.Log,
	})
	if err != nil {
		return err
	}
	defer rc.Close()
	res, err := RunRawThroughput(ctx, rc, r.o.Throughput, shardOf)
	if err != nil {
		return err
	}
	res.System = system
	r.rep.Throughput = append(r.rep.Throughput, res)
	return nil
}

// runJetStream measures NATS JetStream at its default fsync policy and
// at sync_interval: always, and (if asked) with a stream per room.
func (r *runner) runJetStream(ctx context.Context) error {
	type run struct {
		system, sync string
		streams      int
	}
	runs := []run{{"jetstream-default", "default", r.o.NatsStreams}, {"jetstream-always", "always", r.o.NatsStreams}}
	if r.o.NatsPerRoom {
		runs = append(runs, run{"jetstream-always-stream-per-room", "always", r.o.Throughput.Rooms})
	}
	if r.o.NatsBusyShards {
		runs = append(runs, run{"jetstream-always-busy-shards", "always", r.busyShards()})
	}
	for _, rn := range runs {
		nc, err := StartNats(ctx, NatsOptions{
			Bin: r.bin("parley-natspeer"), Dir: r.runDir(rn.system),
			Sync: rn.sync, Streams: rn.streams, Log: r.o.Log,
		})
		if err != nil {
			return err
		}
		res, err := RunNatsThroughput(ctx, nc, r.o.Throughput)
		nc.Close()
		if err != nil {
			return err
		}
		res.System = rn.system
		r.rep.Throughput = append(r.rep.Throughput, res)
	}
	return nil
}

// runLatency measures the latency peer first (if asked), with no Parley
// node up, as the throughput peers are, then Parley under the same load.
// A peer that fails does not keep Parley from being measured; the
// scenario then fails with the peer's error.
func (r *runner) runLatency(ctx context.Context) error {
	var peers []LatencyPeer
	var peerErr error
	if r.o.LatencyPeer {
		r.closeCluster()
		peer, err := r.natsLatency(ctx)
		if err != nil {
			peerErr = fmt.Errorf("latency peer: %w", err)
		} else {
			peers = append(peers, peer)
		}
	}
	c, err := r.parley(ctx)
	if err != nil {
		return errors.Join(err, peerErr)
	}
	res, err := RunLatency(ctx, c, r.o.Latency)
	res.Peers = peers
	if err == nil || res.Offered > 0 {
		r.rep.Latency = &res // partial results help explain a failure
	}
	return errors.Join(err, peerErr)
}

// natsLatency runs the latency scenario's load on JetStream with
// sync_interval: always.
func (r *runner) natsLatency(ctx context.Context) (LatencyPeer, error) {
	const system = "jetstream-always-latency"
	nc, err := StartNats(ctx, NatsOptions{
		Bin: r.bin("parley-natspeer"), Dir: r.runDir(system), Sync: "always", Streams: r.o.NatsStreams, Log: r.o.Log,
	})
	if err != nil {
		return LatencyPeer{}, err
	}
	defer nc.Close()
	r.o.Log.Info("latency peer", "system", "jetstream-always", "rate", r.o.Latency.Rate)
	return RunNatsLatency(ctx, nc, r.o.Latency)
}
