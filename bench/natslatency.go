package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// LatencyPeer is a peer system's send → deliver latency under the load of
// Parley's latency scenario: the same offered rate, rooms, senders,
// workers, payload, warm-up and measuring window.
type LatencyPeer struct {
	// System is "jetstream-always".
	System string `json:"system"`
	// Streams is how many R3 streams the rooms spread over.
	Streams int `json:"streams"`
	// SenderServers and SubscriberServer name where the clients connect:
	// the subscriber on another server than every sender, as Parley's.
	SenderServers    []string `json:"sender_servers"`
	SubscriberServer string   `json:"subscriber_server"`
	// Deliver is send → delivery at the subscriber, from each message's
	// scheduled send time; Ack send → the stream's ack at the sender.
	Deliver Latency `json:"send_to_deliver"`
	Ack     Latency `json:"send_to_ack"`
	// The counts mean what LatencyResult's do.
	Offered     int64 `json:"offered"`
	Acked       int64 `json:"acked"`
	Delivered   int64 `json:"delivered"`
	Undelivered int64 `json:"undelivered"`
	Errors      int64 `json:"errors"`
	Dropped     int64 `json:"dropped"`
	CPU         CPU   `json:"cpu_percent,omitempty"`
	// Note describes the setup.
	Note string `json:"note,omitempty"`
}

// RunNatsLatency runs "parley-natspeer latency" against the cluster with
// the load of Parley's latency scenario: senders connected to every server
// but the second, each message published synchronously with a
// Nats-Msg-Id, and one ordered consumer per room on a connection to the
// second server.
func RunNatsLatency(ctx context.Context, nc *NatsCluster, p LatencyParams) (LatencyPeer, error) {
	res := LatencyPeer{System: "jetstream-" + nc.opts.Sync, Streams: nc.opts.Streams}
	sub := nc.servers[1]
	var pubURLs, pids []string
	for _, s := range nc.servers {
		pids = append(pids, fmt.Sprintf("%s=%d", s.name, s.p.Pid()))
		if s != sub {
			pubURLs = append(pubURLs, s.url)
			res.SenderServers = append(res.SenderServers, s.name)
		}
	}
	res.SubscriberServer = sub.name
	cmd := exec.CommandContext(ctx, nc.opts.Bin, "latency",
		"--pub-servers", strings.Join(pubURLs, ","), "--sub-server", sub.url,
		"--rate", strconv.FormatFloat(p.Rate, 'f', -1, 64), "--rooms", strconv.Itoa(p.Rooms),
		"--streams", strconv.Itoa(nc.opts.Streams), "--senders", strconv.Itoa(p.Senders),
		"--workers", strconv.Itoa(p.Workers), "--payload", strconv.Itoa(p.Payload),
		"--warmup", p.Warmup.String(), "--duration", p.Duration.String(),
		"--drain", drainTimeout.String(), "--pids", strings.Join(pids, ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return res, fmt.Errorf("nats latency: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return res, fmt.Errorf("nats latency: output: %w", err)
	}
	sync := "fsync every 2 min (JetStream default)"
	if nc.opts.Sync == "always" {
		sync = "sync_interval: always (fsync every write)"
	}
	res.Note = fmt.Sprintf("R3 file store, %d stream(s), %s, a Nats-Msg-Id on every message; an ordered (R1, placed by JetStream) consumer per room", res.Streams, sync)
	return res, nil
}
