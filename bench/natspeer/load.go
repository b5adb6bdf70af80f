package main

import (
	"context"
	"encoding/json"
	"errors"
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

// result is what load prints, the shape parley-bench reads.
type result struct {
	Acked   int64   `json:"acked"`
	Errors  int64   `json:"errors"`
	Seconds float64 `json:"seconds"`
	Streams int     `json:"streams"`
	Count   int64   `json:"count"`
	MeanMs  float64 `json:"mean_ms"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
	P999Ms  float64 `json:"p999_ms"`
	MaxMs   float64 `json:"max_ms"`
	// CPU is each process's CPU use over the measuring window, in percent
	// of one core: the servers named by --pids, and "load" (this one).
	CPU map[string]float64 `json:"cpu_percent"`
	// WindowFrom and WindowTo bound the measuring window, in Unix
	// nanoseconds, so that parley-bench can read the machine's CPU over it.
	WindowFrom int64 `json:"window_from_unix_ns"`
	WindowTo   int64 `json:"window_to_unix_ns"`
}

// runLoad publishes synchronously from --senders connections for
// --warmup plus --duration and reports what was acknowledged in the
// measuring window.
func runLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	servers := fs.String("servers", "", "client URLs of the cluster's servers, comma-separated")
	senders := fs.Int("senders", 64, "concurrent publishers, each with its own connection")
	rooms := fs.Int("rooms", 16, "rooms, each a subject of the stream")
	streams := fs.Int("streams", 1, "streams the rooms are spread over (each an R3 Raft group)")
	payload := fs.Int("payload", 128, "message size in bytes")
	warmup := fs.Duration("warmup", 2*time.Second, "time before measuring")
	duration := fs.Duration("duration", 10*time.Second, "measuring time")
	pidList := fs.String("pids", "", "processes whose CPU use to measure: name=pid,...")
	msgIDs := fs.Bool("msg-id", true, "set a unique Nats-Msg-Id on every message, so that JetStream does dedup work as Parley does")
	if err := fs.Parse(args); err != nil {
		return err
	}
	pids, err := parsePids(*pidList)
	if err != nil {
		return err
	}
	urls := strings.Split(*servers, ",")
	if *servers == "" || *senders < 1 || *rooms < 1 || *streams < 1 {
		return fmt.Errorf("load: bad flags")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *warmup+*duration+5*time.Minute)
	defer cancel()

	// Connection i goes to server i mod 3 first.
	conns := make([]jetstream.JetStream, *senders)
	for i := range conns {
		order := append(append([]string(nil), urls[i%len(urls):]...), urls[:i%len(urls)]...)
		nc, err := nats.Connect(strings.Join(order, ","), nats.DontRandomize(), nats.MaxReconnects(-1))
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer nc.Close()
		if conns[i], err = jetstream.New(nc); err != nil {
			return fmt.Errorf("jetstream: %w", err)
		}
	}
	if err := createStreams(ctx, conns[0], *streams, *rooms); err != nil {
		return err
	}
	msg := make([]byte, *payload)
	for i := range msg {
		msg[i] = 'a' + byte(i%26)
	}

	begin := time.Now()
	from, to := begin.Add(*warmup), begin.Add(*warmup+*duration)
	hist := hdrhistogram.New(1, int64(5*time.Minute/time.Microsecond), 3)
	var mu sync.Mutex
	var acked, errs atomic.Int64
	// The measuring window's CPU use and bounds.
	type measured struct {
		cpu      map[string]float64
		from, to time.Time
	}
	cpuDone := make(chan measured, 1)
	window := time.AfterFunc(*warmup, func() {
		start, t0 := cpuNow(pids), time.Now()
		time.AfterFunc(*duration, func() {
			cpu := cpuSince(pids, start, time.Since(t0))
			cpuDone <- measured{cpu, t0, time.Now()}
		})
	})
	defer window.Stop()
	var wg sync.WaitGroup
	for w := range *senders {
		wg.Go(func() {
			js := conns[w]
			for i := 0; ; i++ {
				t0 := time.Now()
				if t0.After(to) {
					return
				}
				subj := fmt.Sprintf("room.%d", (w+i)%*rooms)
				pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				var opts []jetstream.PublishOpt
				if *msgIDs {
					// A client-made id per message, as Parley's 16-byte ids.
					opts = append(opts, jetstream.WithMsgID(fmt.Sprintf("%d-%d-%d", begin.UnixNano(), w, i)))
				}
				_, err := js.PublishMsg(pctx, &nats.Msg{Subject: subj, Data: msg}, opts...)
				cancel()
				t1 := time.Now()
				if t1.Before(from) || t1.After(to) {
					continue
				}
				if err != nil {
					errs.Add(1)
					continue
				}
				acked.Add(1)
				mu.Lock()
				hist.RecordValue(max(1, int64(t1.Sub(t0)/time.Microsecond)))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ms := func(us int64) float64 { return float64(us) / 1000 }
	res := result{
		Acked: acked.Load(), Errors: errs.Load(), Seconds: duration.Seconds(), Streams: *streams,
		Count: hist.TotalCount(), MeanMs: hist.Mean() / 1000,
		P50Ms: ms(hist.ValueAtQuantile(50)), P99Ms: ms(hist.ValueAtQuantile(99)),
		P999Ms: ms(hist.ValueAtQuantile(99.9)), MaxMs: ms(hist.Max()),
	}
	m := <-cpuDone
	res.CPU, res.WindowFrom, res.WindowTo = m.cpu, m.from.UnixNano(), m.to.UnixNano()
	return json.NewEncoder(os.Stdout).Encode(res)
}

// createStreams makes the R3 file-store streams, room r in stream r mod
// streams, retrying while the cluster elects its meta leader.
func createStreams(ctx context.Context, js jetstream.JetStream, streams, rooms int) error {
	for s := range streams {
		var subjects []string
		for r := s; r < rooms; r += streams {
			subjects = append(subjects, fmt.Sprintf("room.%d", r))
		}
		cfg := jetstream.StreamConfig{
			Name:     fmt.Sprintf("CHAT%d", s),
			Subjects: subjects,
			Replicas: 3,
			Storage:  jetstream.FileStorage,
			// Parley remembers message ids for 15 minutes (chatcore.DedupWindow).
			Duplicates: 15 * time.Minute,
		}
		deadline := time.Now().Add(time.Minute)
		for {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			_, err := js.CreateOrUpdateStream(cctx, cfg)
			cancel()
			if err == nil {
				break
			}
			if time.Now().After(deadline) || errors.Is(ctx.Err(), context.Canceled) {
				return fmt.Errorf("stream %s: %w", cfg.Name, err)
			}
			t := time.NewTimer(100 * time.Millisecond) // retry pace while the cluster forms
			<-t.C
		}
	}
	return nil
}
