package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/parleychat/parley/bench"
)

// common holds the flags that are not bench.Options fields.
type common struct {
	out      string
	logLevel string
}

// addCommonFlags registers the flags every scenario takes.
func addCommonFlags(fs *flag.FlagSet, o *bench.Options) *common {
	c := &common{}
	fs.BoolVar(&o.Quick, "quick", o.Quick, "a few seconds per scenario (the CI run)")
	fs.StringVar(&c.out, "out", "", "also write the results as JSON to `FILE`")
	fs.StringVar(&o.BinDir, "bin", "", "`DIR` of parleyd, parley-rawnode and parley-natspeer (default: parley-bench's own)")
	fs.StringVar(&o.WorkDir, "work", "", "`DIR` for the clusters' data and logs (default: a temporary one)")
	fs.BoolVar(&o.Keep, "keep", false, "keep the work directory")
	fs.StringVar(&o.Profile, "profile", o.Profile, "Parley (and raw peer) profile: small or default")
	fs.IntVar(&o.Shards, "shards", o.Shards, "room shards of the Parley cluster")
	fs.StringVar(&c.logLevel, "log-level", "info", "progress log level: debug, info, warn or error")
	fs.StringVar(&o.NodeLogLevel, "node-log-level", "warn", "the Parley nodes' own log level (their logs are kept with --keep)")
	return c
}

// addScenarioFlags registers scenario's own flags and returns a function
// giving the scenarios to run once the flags are parsed.
func addScenarioFlags(fs *flag.FlagSet, scenario string, o *bench.Options) func() []string {
	only := func() []string { return []string{scenario} }
	switch scenario {
	case "all":
		fs.BoolVar(&o.RawOneShard, "raw-one-shard", o.RawOneShard, "also run the raw peer with every room on one shard")
		fs.BoolVar(&o.RawDenseIDs, "raw-dense-ids", o.RawDenseIDs, "also run the raw peer with room shards numbered 2, 3, 4, … (spread over dragonboat's 4 streams per peer)")
		fs.IntVar(&o.NatsStreams, "nats-streams", o.NatsStreams, "R3 streams JetStream spreads the rooms over")
		fs.BoolVar(&o.NatsPerRoom, "nats-per-room", o.NatsPerRoom, "also run JetStream (sync always) with one R3 stream per room")
		fs.BoolVar(&o.NatsBusyShards, "nats-busy-shards", o.NatsBusyShards, "also run JetStream (sync always) with as many R3 streams as Parley's busy room shards")
		fs.IntVar(&o.Repeats, "repeats", o.Repeats, "runs of each throughput row, in rotated order with a settle wait between (median and spread reported)")
		fs.BoolVar(&o.LatencyPeer, "latency-peer", o.LatencyPeer, "also measure JetStream (sync always) under the latency scenario's load")
		return func() []string { return nil }
	case bench.ScenarioThroughput:
		loadFlags(fs, &o.Throughput)
		fs.DurationVar(&o.Throughput.LeaderWait, "leader-wait", o.Throughput.LeaderWait, "longest wait, before Parley's load, for the busy shards' leaders to be spread over the nodes (0: none)")
		peers := fs.String("peers", "raw,jetstream", `peers to measure too: raw, jetstream, both, or "none"`)
		fs.IntVar(&o.Repeats, "repeats", o.Repeats, "runs of each row, in rotated order with a settle wait between (median and spread reported)")
		fs.IntVar(&o.NatsStreams, "nats-streams", o.NatsStreams, "R3 streams JetStream spreads the rooms over")
		return func() []string {
			out := []string{bench.ScenarioThroughput}
			for p := range strings.SplitSeq(*peers, ",") {
				switch p {
				case "raw":
					out = append(out, bench.ScenarioRaw)
				case "jetstream":
					out = append(out, bench.ScenarioJetStream)
				}
			}
			return out
		}
	case bench.ScenarioRaw:
		loadFlags(fs, &o.Throughput)
		fs.BoolVar(&o.RawOneShard, "one-shard", o.RawOneShard, "also run with every room on one shard")
		fs.BoolVar(&o.RawDenseIDs, "dense-ids", o.RawDenseIDs, "also run with room shards numbered 2, 3, 4, … (spread over dragonboat's 4 streams per peer)")
		fs.BoolVar(&o.RawNoTLS, "no-tls", false, "plain TCP between the raw nodes (Parley always uses mutual TLS)")
	case bench.ScenarioJetStream:
		loadFlags(fs, &o.Throughput)
		fs.IntVar(&o.NatsStreams, "streams", o.NatsStreams, "R3 streams the rooms spread over")
		fs.BoolVar(&o.NatsPerRoom, "per-room", o.NatsPerRoom, "also run with one R3 stream per room (sync always)")
		fs.BoolVar(&o.NatsBusyShards, "busy-shards", o.NatsBusyShards, "also run with as many R3 streams as Parley's busy room shards (sync always)")
	case bench.ScenarioLatency:
		p := &o.Latency
		fs.Float64Var(&p.Rate, "rate", p.Rate, "offered messages per second")
		fs.IntVar(&p.Rooms, "rooms", p.Rooms, "rooms")
		fs.IntVar(&p.Senders, "senders", p.Senders, "sending clients")
		fs.IntVar(&p.Workers, "workers", p.Workers, "sending goroutines sharing the clients")
		fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
		fs.DurationVar(&p.Warmup, "warmup", p.Warmup, "time before measuring")
		fs.DurationVar(&p.Duration, "duration", p.Duration, "measuring time")
		fs.DurationVar(&p.LeaderWait, "leader-wait", p.LeaderWait, "longest wait, before the load, for the rooms' shard leaders to be spread over the nodes (0: none)")
		fs.BoolVar(&o.LatencyPeer, "peer", o.LatencyPeer, "also measure JetStream (sync always) under the same load first")
		fs.IntVar(&o.NatsStreams, "nats-streams", o.NatsStreams, "R3 streams the peer spreads the rooms over")
	case bench.ScenarioFanout:
		p := &o.Fanout
		fs.IntVar(&p.Subscribers, "subscribers", p.Subscribers, "subscribing clients")
		fs.IntVar(&p.Senders, "senders", p.Senders, "sending clients")
		fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
		fs.DurationVar(&p.Warmup, "warmup", p.Warmup, "time before measuring")
		fs.DurationVar(&p.Duration, "duration", p.Duration, "measuring time")
	case bench.ScenarioFailover:
		p := &o.Failover
		fs.Float64Var(&p.Rate, "rate", p.Rate, "offered messages per second")
		fs.IntVar(&p.Rooms, "rooms", p.Rooms, "rooms")
		fs.IntVar(&p.Senders, "senders", p.Senders, "sending clients")
		fs.IntVar(&p.Workers, "workers", p.Workers, "sending goroutines sharing the clients")
		fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
		fs.DurationVar(&p.Before, "before", p.Before, "load time before the kill")
		fs.DurationVar(&p.After, "after", p.After, "load time after the kill")
		fs.DurationVar(&p.Idle, "idle", p.Idle, "pause the load this long before the kill, so idle shards quiesce (0: no pause)")
	case bench.ScenarioAnalytics:
		p := &o.Analytics
		fs.IntVar(&p.Messages, "messages", p.Messages, "messages sent before the jobs run")
		fs.IntVar(&p.Rooms, "rooms", p.Rooms, "rooms the messages go to")
		fs.IntVar(&p.Senders, "senders", p.Senders, "sending clients")
		fs.StringVar(&p.Query, "query", p.Query, "the search job's regular expression")
	case bench.ScenarioReconnect:
		p := &o.Reconnect
		fs.Float64Var(&p.Rate, "rate", p.Rate, "offered messages per second")
		fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
		fs.DurationVar(&p.Before, "before", p.Before, "load time before the kill")
		fs.DurationVar(&p.After, "after", p.After, "load time after the kill")
	case bench.ScenarioRebalance:
		p := &o.Rebalance
		fs.IntVar(&p.Nodes, "nodes", p.Nodes, "nodes before the join")
		fs.Float64Var(&p.Rate, "rate", p.Rate, "offered messages per second")
		fs.IntVar(&p.Rooms, "rooms", p.Rooms, "rooms")
		fs.IntVar(&p.Senders, "senders", p.Senders, "sending clients")
		fs.IntVar(&p.Workers, "workers", p.Workers, "sending goroutines sharing the clients")
		fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
		fs.DurationVar(&p.Before, "before", p.Before, "load time before the join")
		fs.DurationVar(&p.After, "after", p.After, "load time after the join")
	case bench.ScenarioMemory:
		p := &o.Memory
		fs.Func("profiles", fmt.Sprintf("profiles to measure, comma-separated (default %s)", strings.Join(p.Profiles, ",")), func(s string) error {
			p.Profiles = strings.Split(s, ",")
			return nil
		})
		fs.DurationVar(&p.Idle, "idle", p.Idle, "idle time before reading RSS")
		fs.DurationVar(&p.SettleLimit, "settle", p.SettleLimit, "bound on the wait for the cluster to settle before the settled reading")
		fs.DurationVar(&p.Window, "window", p.Window, "how long the settled cluster's idle CPU is measured")
		loadFlags(fs, &p.Load)
	}
	return only
}

// loadFlags registers the flags of a throughput load.
func loadFlags(fs *flag.FlagSet, p *bench.ThroughputParams) {
	fs.IntVar(&p.Senders, "senders", p.Senders, "concurrent senders, each with its own connection")
	fs.IntVar(&p.Rooms, "rooms", p.Rooms, "rooms the senders spread over")
	fs.IntVar(&p.Payload, "payload", p.Payload, "message size in bytes")
	fs.DurationVar(&p.Warmup, "warmup", p.Warmup, "time before measuring")
	fs.DurationVar(&p.Duration, "duration", p.Duration, "measuring time")
}
