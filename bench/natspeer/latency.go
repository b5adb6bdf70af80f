package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// summary is a latency distribution in milliseconds, the shape of
// parley-bench's Latency.
type summary struct {
	Count  int64   `json:"count"`
	MeanMs float64 `json:"mean_ms"`
	P50Ms  float64 `json:"p50_ms"`
	P90Ms  float64 `json:"p90_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// latencyResult is what "latency" prints, the shape parley-bench reads.
type latencyResult struct {
	// Deliver is send → delivery at the consumer; Ack send → the
	// stream's ack at the publisher; both from the scheduled send time.
	Deliver summary `json:"send_to_deliver"`
	Ack     summary `json:"send_to_ack"`
	// Offered, Acked and Delivered count the measuring window's messages;
	// Undelivered were acked but not delivered within the drain time;
	// Dropped found every worker busy.
	Offered     int64 `json:"offered"`
	Acked       int64 `json:"acked"`
	Delivered   int64 `json:"delivered"`
	Undelivered int64 `json:"undelivered"`
	Errors      int64 `json:"errors"`
	Dropped     int64 `json:"dropped"`
	Streams     int   `json:"streams"`
	// CPU is each process's CPU use over the whole paced load (warm-up
	// included, as Parley's latency scenario measures it).
	CPU map[string]float64 `json:"cpu_percent"`
}

// latencyHist is a concurrency-safe histogram of microseconds.
type latencyHist struct {
	mu sync.Mutex
	h  *hdrhistogram.Histogram
}

func newLatencyHist() *latencyHist {
	return &latencyHist{h: hdrhistogram.New(1, int64(5*time.Minute/time.Microsecond), 3)}
}

func (l *latencyHist) record(d time.Duration) {
	us := min(max(int64(d/time.Microsecond), 1), l.h.HighestTrackableValue())
	l.mu.Lock()
	_ = l.h.RecordValue(us) // within the bounds: cannot fail
	l.mu.Unlock()
}

func (l *latencyHist) summary() summary {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.h.TotalCount() == 0 {
		return summary{}
	}
	ms := func(us int64) float64 { return float64(us) / 1000 }
	return summary{
		Count: l.h.TotalCount(), MeanMs: float64(int64(l.h.Mean())) / 1000,
		P50Ms: ms(l.h.ValueAtQuantile(50)), P90Ms: ms(l.h.ValueAtQuantile(90)),
		P99Ms: ms(l.h.ValueAtQuantile(99)), P999Ms: ms(l.h.ValueAtQuantile(99.9)),
		MaxMs: ms(l.h.Max()),
	}
}

// latencyFlags are the parsed flags of "latency".
type latencyFlags struct {
	pubServers, subServer     []string
	rate                      float64
	rooms, streams            int
	senders, workers, payload int
	warmup, duration, drain   time.Duration
	pids                      map[string]int
}

func parseLatencyFlags(args []string) (latencyFlags, error) {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	pub := fs.String("pub-servers", "", "client URLs the publishers connect to, connection i to the i-th mod n first, comma-separated")
	sub := fs.String("sub-server", "", "client URL the consumers' connection uses (another server than the publishers')")
	var f latencyFlags
	fs.Float64Var(&f.rate, "rate", 1000, "offered messages per second (an open loop)")
	fs.IntVar(&f.rooms, "rooms", 16, "rooms, each a subject with a consumer of its own")
	fs.IntVar(&f.streams, "streams", 1, "streams the rooms are spread over (each an R3 Raft group)")
	fs.IntVar(&f.senders, "senders", 8, "publishing connections")
	fs.IntVar(&f.workers, "workers", 64, "publishing goroutines sharing the connections")
	fs.IntVar(&f.payload, "payload", 128, "message size in bytes")
	fs.DurationVar(&f.warmup, "warmup", 3*time.Second, "time before measuring")
	fs.DurationVar(&f.duration, "duration", 20*time.Second, "measuring time")
	fs.DurationVar(&f.drain, "drain", 20*time.Second, "longest wait for the last deliveries")
	pidList := fs.String("pids", "", "processes whose CPU use to measure: name=pid,...")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if *pub == "" || *sub == "" || f.rate <= 0 || f.rooms < 1 || f.streams < 1 || f.senders < 1 || f.workers < 1 || f.payload < 0 || f.duration <= 0 {
		return f, fmt.Errorf("latency: bad flags (--pub-servers and --sub-server are required; counts and rate positive)")
	}
	f.pubServers, f.subServer = strings.Split(*pub, ","), []string{*sub}
	var err error
	f.pids, err = parsePids(*pidList)
	return f, err
}

// runLatency offers --rate messages per second, each published
// synchronously with a Nats-Msg-Id from --senders connections shared by
// --workers goroutines, and times each measured message from its
// scheduled send time to its delivery to an ordered consumer of its room's
// subject, on a connection to --sub-server, and to its ack.
func runLatency(args []string) error {
	f, err := parseLatencyFlags(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.warmup+f.duration+f.drain+5*time.Minute)
	defer cancel()

	pubs := make([]jetstream.JetStream, f.senders)
	for i := range pubs {
		order := append(append([]string(nil), f.pubServers[i%len(f.pubServers):]...), f.pubServers[:i%len(f.pubServers)]...)
		nc, err := nats.Connect(strings.Join(order, ","), nats.DontRandomize(), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer nc.Close()
		if pubs[i], err = jetstream.New(nc); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
	}
	if err := createStreams(ctx, pubs[0], f.streams, f.rooms); err != nil {
		return err
	}

	var (
		pending   sync.Map // Nats-Msg-Id → scheduled send time of a measured message
		deliver   = newLatencyHist()
		ackHist   = newLatencyHist()
		delivered atomic.Int64
		acked     atomic.Int64
		offered   atomic.Int64
		errs      atomic.Int64
	)
	snc, err := nats.Connect(f.subServer[0], nats.MaxReconnects(-1))
	if err != nil {
		return fmt.Errorf("connect consumer: %w", err)
	}
	defer snc.Close()
	sjs, err := jetstream.New(snc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	// One ordered consumer per room, as Parley's subscriber has one
	// subscription per room; each starts at the stream's next message.
	for r := range f.rooms {
		cons, err := sjs.OrderedConsumer(ctx, fmt.Sprintf("CHAT%d", r%f.streams), jetstream.OrderedConsumerConfig{
			FilterSubjects: []string{fmt.Sprintf("room.%d", r)},
			DeliverPolicy:  jetstream.DeliverNewPolicy,
		})
		if err != nil {
			return fmt.Errorf("consumer of room %d: %w", r, err)
		}
		cc, err := cons.Consume(func(m jetstream.Msg) {
			if v, ok := pending.LoadAndDelete(m.Headers().Get(jetstream.MsgIDHeader)); ok {
				deliver.record(time.Since(v.(time.Time)))
				delivered.Add(1)
			}
		})
		if err != nil {
			return fmt.Errorf("consume room %d: %w", r, err)
		}
		defer cc.Stop()
	}

	msg := make([]byte, f.payload)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}
	begin := time.Now()
	// The first rate×warmup jobs are the warm-up, counted by index as
	// parley-bench counts Parley's.
	firstMeasured := int(f.rate * f.warmup.Seconds())
	cpuStart := cpuNow(f.pids)
	dropped := pace(ctx, f.rate, f.workers, f.rooms, f.warmup+f.duration, func(ctx context.Context, w int, j pacedJob) {
		measured := j.n >= firstMeasured
		id := fmt.Sprintf("%d-%d", begin.UnixNano(), j.n)
		if measured {
			offered.Add(1)
			pending.Store(id, j.sched)
		}
		pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		_, err := pubs[w%len(pubs)].PublishMsg(pctx, &nats.Msg{Subject: fmt.Sprintf("room.%d", j.room), Data: msg}, jetstream.WithMsgID(id))
		cancel()
		if !measured {
			return
		}
		if err != nil {
			errs.Add(1)
			pending.Delete(id)
			return
		}
		acked.Add(1)
		ackHist.record(time.Since(j.sched))
	})
	cpu := cpuSince(f.pids, cpuStart, time.Since(begin))
	// Wait for the last deliveries.
	drainEnd := time.Now().Add(f.drain)
	tick := time.NewTicker(100 * time.Millisecond)
	for delivered.Load() < acked.Load() && time.Now().Before(drainEnd) {
		<-tick.C
	}
	tick.Stop()
	res := latencyResult{
		Deliver: deliver.summary(), Ack: ackHist.summary(),
		Offered: offered.Load(), Acked: acked.Load(), Delivered: delivered.Load(),
		Errors: errs.Load(), Dropped: dropped, Streams: f.streams, CPU: cpu,
	}
	res.Undelivered = max(0, res.Acked-res.Delivered)
	return json.NewEncoder(os.Stdout).Encode(res)
}
