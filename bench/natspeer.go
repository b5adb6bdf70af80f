package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/internal/proc"
)

// NatsOptions configures StartNats.
type NatsOptions struct {
	// Bin is the path of the parley-natspeer binary.
	Bin string
	// Dir holds the servers' stores and logs.
	Dir string
	// Sync is JetStream's fsync policy: "default" (every 2 minutes) or
	// "always" (every write, like Parley's Raft log).
	Sync string
	// Streams is how many R3 streams the rooms spread over (default 1:
	// one stream with a subject per room).
	Streams int
	// Log receives progress messages.
	Log *slog.Logger
}

// natsServer is one parley-natspeer server process.
type natsServer struct {
	name, url, log string
	p              *proc.Proc
}

// NatsCluster is the NATS JetStream peer: three nats-server processes
// (embedded in parley-natspeer) forming one JetStream cluster.
type NatsCluster struct {
	opts    NatsOptions
	servers []*natsServer
}

// StartNats starts three JetStream servers that route to each other, and
// waits until each accepts connections.
func StartNats(ctx context.Context, opts NatsOptions) (*NatsCluster, error) {
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("nats: %w", err)
	}
	if opts.Streams == 0 {
		opts.Streams = 1
	}
	const size = 3
	client := make([]string, size)
	cluster := make([]string, size)
	var routes []string
	for i := range size {
		var err error
		if client[i], err = freeport.Addr(); err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		if cluster[i], err = freeport.Addr(); err != nil {
			return nil, fmt.Errorf("nats: %w", err)
		}
		routes = append(routes, "nats://"+cluster[i])
	}
	nc := &NatsCluster{opts: opts}
	for i := range size {
		s := &natsServer{name: fmt.Sprintf("nats%d", i+1), url: "nats://" + client[i]}
		s.log = filepath.Join(opts.Dir, s.name+".log")
		args := []string{
			"server", "--name", s.name, "--port", portOf(client[i]), "--cluster-port", portOf(cluster[i]),
			"--routes", strings.Join(routes, ","), "--store", filepath.Join(opts.Dir, s.name), "--sync", opts.Sync,
		}
		p, err := launcher.Start(s.name, opts.Bin, args, s.log)
		if err != nil {
			nc.Close()
			return nil, fmt.Errorf("nats: %w", err)
		}
		s.p = p
		nc.servers = append(nc.servers, s)
	}
	err := poll(ctx, formTimeout, "nats servers listening", func(ctx context.Context) error {
		for _, s := range nc.servers {
			if s.p.Exited() {
				return fmt.Errorf("%s exited:\n%s: %w", s.name, proc.Tail(s.log, logTail), errPermanent)
			}
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", strings.TrimPrefix(s.url, "nats://"))
			if err != nil {
				return err
			}
			c.Close()
		}
		return nil
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("nats: %w", err)
	}
	return nc, nil
}

// portOf returns the port of host:port.
func portOf(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// Close stops the servers.
func (nc *NatsCluster) Close() {
	var wg sync.WaitGroup
	for _, s := range nc.servers {
		wg.Go(func() { s.p.Stop(10 * time.Second) })
	}
	wg.Wait()
}

// natsLoadResult is what "parley-natspeer load" prints.
type natsLoadResult struct {
	Acked   int64   `json:"acked"`
	Errors  int64   `json:"errors"`
	Seconds float64 `json:"seconds"`
	Streams int     `json:"streams"`
	Latency
	CPU        CPU   `json:"cpu_percent"`
	WindowFrom int64 `json:"window_from_unix_ns"`
	WindowTo   int64 `json:"window_to_unix_ns"`
}

// RunNatsThroughput runs "parley-natspeer load" against the cluster with
// the same load as Parley's throughput: p.Senders connections, each
// publishing a p.Payload-byte message to a room's subject and waiting for
// the stream's ack before the next.
func RunNatsThroughput(ctx context.Context, nc *NatsCluster, p ThroughputParams) (ThroughputResult, error) {
	res := ThroughputResult{System: "jetstream-" + nc.opts.Sync, Params: p, DurationS: p.Duration.Seconds()}
	var urls, pids []string
	for _, s := range nc.servers {
		urls = append(urls, s.url)
		pids = append(pids, fmt.Sprintf("%s=%d", s.name, s.p.Pid()))
		if err := resetPeakRSS(s.p.Pid()); err != nil {
			return res, err
		}
	}
	cmd := exec.CommandContext(ctx, nc.opts.Bin, "load",
		"--servers", strings.Join(urls, ","), "--senders", strconv.Itoa(p.Senders),
		"--rooms", strconv.Itoa(p.Rooms), "--streams", strconv.Itoa(nc.opts.Streams),
		"--payload", strconv.Itoa(p.Payload), "--warmup", p.Warmup.String(),
		"--duration", p.Duration.String(), "--pids", strings.Join(pids, ","))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The load process measures its own window, which starts once it has
	// connected and created its streams; the machine's CPU is sampled from
	// here meanwhile and read over the window it reports.
	host := startHostSampler(hostSampleEvery)
	err := cmd.Run()
	samples := host.stop()
	if err != nil {
		return res, fmt.Errorf("nats load: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var out natsLoadResult
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		return res, fmt.Errorf("nats load: output: %w", err)
	}
	res.Acked, res.Errors, res.Ack, res.CPU = out.Acked, out.Errors, out.Latency, out.CPU
	res.Host = samples.between(time.Unix(0, out.WindowFrom), time.Unix(0, out.WindowTo))
	if out.Seconds > 0 {
		res.MsgPerSec = round3(float64(out.Acked) / out.Seconds)
	}
	res.RSS = make(map[string]RSS)
	for _, s := range nc.servers {
		r, err := readRSS(s.p.Pid())
		if err != nil {
			return res, err
		}
		res.RSS[s.name] = r
	}
	sync := "fsync every 2 min (JetStream default)"
	if nc.opts.Sync == "always" {
		sync = "sync_interval: always (fsync every write)"
	}
	res.Note = fmt.Sprintf("R3 file store, %d stream(s), %s, a Nats-Msg-Id on every message (15 min dedup window, as Parley's)", out.Streams, sync)
	return res, nil
}
