package bench

import (
	"context"
	"fmt"
	"time"
)

// ThroughputParams shapes a throughput run; every system gets the same.
type ThroughputParams struct {
	// Senders is the number of concurrent senders, each with its own
	// connection, each waiting for its ack before its next message.
	Senders int `json:"senders"`
	// Rooms is the number of rooms the senders spread over.
	Rooms int `json:"rooms"`
	// Payload is the message size in bytes.
	Payload int `json:"payload_bytes"`
	// Warmup runs before the measuring window.
	Warmup time.Duration `json:"-"`
	// Duration is the measuring window.
	Duration time.Duration `json:"-"`
	// LeaderWait bounds the wait, before Parley's load, for the busy
	// shards' leaders to be spread over the nodes (see
	// Cluster.WaitLeadersBalanced); 0 does not wait. The peers ignore it.
	LeaderWait time.Duration `json:"-"`
}

// ThroughputResult is one system's throughput under ThroughputParams.
type ThroughputResult struct {
	// System is "parley", "raw-dragonboat", "jetstream-default"...
	System    string           `json:"system"`
	Params    ThroughputParams `json:"params"`
	DurationS float64          `json:"duration_s"`
	// MsgPerSec is the committed (acknowledged) messages per second.
	MsgPerSec float64 `json:"msg_per_sec"`
	Acked     int64   `json:"acked"`
	Errors    int64   `json:"errors"`
	// Ack is the latency from send to acknowledgement.
	Ack Latency `json:"ack_latency"`
	// CPU is each process's CPU use during the run, in percent of one
	// core; "bench" is the load generator.
	CPU CPU `json:"cpu_percent,omitempty"`
	// Host is how the whole machine's CPU time went during the run.
	Host *HostCPU `json:"host_cpu,omitempty"`
	// ServerCPUUsPerMsg is the servers' CPU time per committed message,
	// in microseconds: the yardstick of the server's efficiency, which a
	// busy machine distorts less than msg/s. Report.finish fills it in.
	ServerCPUUsPerMsg float64 `json:"server_cpu_us_per_msg,omitempty"`
	// RSS is each server process's memory at the end of the run; Peak is
	// the high-water mark during it.
	RSS map[string]RSS `json:"rss,omitempty"`
	// Note describes the setup where it differs from the params.
	Note string `json:"note,omitempty"`
	// Round is the run's round when rows are repeated (0: not repeated),
	// and LoadAvg the 1-minute load average as it started.
	Round   int     `json:"round,omitempty"`
	LoadAvg float64 `json:"load_avg_1m,omitempty"`
	// Spread is set on a repeated row: the row is the median run.
	Spread *Spread `json:"spread,omitempty"`
	// Leaders counts, for Parley, the busy room shards each node led at
	// the end of the run.
	Leaders map[string]int `json:"leaders,omitempty"`
	// LeaderWait is, for Parley, how the wait for balanced leaders before
	// the load went.
	LeaderWait *LeaderWait `json:"leader_wait,omitempty"`
}

// roomName is the name of room r of a scenario.
func roomName(prefix string, r int) string { return fmt.Sprintf("%s-%d", prefix, r) }

// RunThroughput measures Parley's throughput: p.Senders SDK clients, one
// per sender, connected round robin to the nodes, send p.Payload-byte
// messages into p.Rooms rooms as fast as their acks come back.
func RunThroughput(ctx context.Context, c *Cluster, p ThroughputParams) (ThroughputResult, error) {
	res := ThroughputResult{System: "parley", Params: p, DurationS: p.Duration.Seconds()}
	cls, err := c.DialMany(ctx, "tp", p.Senders, c.Nodes)
	if err != nil {
		return res, fmt.Errorf("throughput: %w", err)
	}
	defer closeAll(cls)
	rooms := make([]string, p.Rooms)
	for r := range rooms {
		rooms[r] = roomName("tp", r)
	}
	text := payload(p.Payload)
	if p.LeaderWait > 0 {
		w := c.WaitLeadersBalanced(ctx, rooms, p.LeaderWait)
		res.LeaderWait = &w
	}
	if err := c.ResetPeakRSS(); err != nil {
		return res, fmt.Errorf("throughput: %w", err)
	}
	out := runClosedLoop(ctx, p.Senders, p.Rooms, p.Warmup, p.Duration, c.pids(), func(ctx context.Context, w, r int) error {
		_, err := cls[w].Send(ctx, rooms[r], text)
		return err
	})
	res.CPU, res.Host = out.cpu, out.host
	res.MsgPerSec, res.Acked, res.Errors, res.Ack = round3(out.msgPerSec()), out.acked, out.errors, out.lat.Summary()
	if res.RSS, err = c.RSS(); err != nil {
		return res, fmt.Errorf("throughput: %w", err)
	}
	res.Note = fmt.Sprintf("%s profile, %d shards, rooms on %d of them", c.opts.Profile, c.opts.Shards, c.distinctShards(rooms))
	if res.LeaderWait != nil {
		res.Note += "; " + res.LeaderWait.note()
	}
	// Where the leaders were is context, not the result: a failure to
	// ask is noted, not fatal.
	if res.Leaders, err = c.leaderPlacement(ctx, rooms); err != nil {
		res.Note += fmt.Sprintf("; leaders unknown: %v", err)
	}
	if ctx.Err() != nil {
		return res, fmt.Errorf("throughput: %w", ctx.Err())
	}
	return res, nil
}

// serverCPUPerMsg returns the servers' CPU microseconds per committed
// message, or 0 if nothing was committed or no CPU was measured.
func (t ThroughputResult) serverCPUPerMsg() float64 {
	servers, _ := t.CPU.split()
	if t.MsgPerSec <= 0 || servers <= 0 {
		return 0
	}
	// servers is percent of one core: servers/100 CPU seconds per second.
	return round3(servers * 1e4 / t.MsgPerSec)
}
