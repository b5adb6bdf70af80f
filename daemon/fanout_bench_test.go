package daemon_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
)

// BenchmarkFanout drives the whole delivery path of one busy room on one
// node: 100 SDK clients, each on its own QUIC connection, follow the room
// while 64 clients send into it. One op is one message delivered to one
// subscriber; the process's CPU time per delivery (server and clients
// together, as they share the cores in the bench's fanout scenario) is
// reported as cpu-µs/delivery, the figure to compare between changes on a
// shared machine, where wall time is noisy.
func BenchmarkFanout(b *testing.B) {
	const subs, senders = 100, 64
	cl := daemontest.StartCluster(b, 1, daemontest.Options{Shards: 1, Replicas: 1})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dial := func(user string) *client.Client {
		var c *client.Client
		deadline := time.Now().Add(2 * time.Minute)
		for {
			dctx, dcancel := context.WithTimeout(ctx, 30*time.Second)
			var err error
			c, err = client.Dial(dctx, client.Options{Servers: cl.Addrs(), User: user, Password: "pw-" + user, CAFile: cl.CAFile()})
			dcancel()
			if err == nil {
				b.Cleanup(func() { c.Close() })
				return c
			}
			if time.Now().After(deadline) {
				b.Fatalf("dial as %s: %v", user, err)
			}
		}
	}
	const room = "fanout"
	text := strings.Repeat("x", 128)
	snd := make([]*client.Client, senders)
	for i := range snd {
		snd[i] = dial(fmt.Sprintf("snd%d", i))
	}
	if _, err := snd[0].Send(ctx, room, "first"); err != nil {
		b.Fatal(err)
	}
	var received atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for i := range subs {
		s, err := dial(fmt.Sprintf("sub%d", i)).Subscribe(ctx, room, 0)
		if err != nil {
			b.Fatal(err)
		}
		wg.Go(func() {
			for range s.C() {
				received.Add(1)
			}
		})
	}
	msgs := max(1, b.N/subs)
	before := cpuTime(b)
	b.ResetTimer()
	var next atomic.Int64
	var swg sync.WaitGroup
	for _, c := range snd {
		swg.Go(func() {
			for next.Add(1) <= int64(msgs) {
				if _, err := c.Send(ctx, room, text); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	swg.Wait()
	want := int64(msgs * subs)
	deadline := time.Now().Add(time.Minute)
	for received.Load() < want {
		if time.Now().After(deadline) {
			b.Fatalf("delivered %d of %d", received.Load(), want)
		}
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	used := cpuTime(b) - before
	b.ReportMetric(float64(used.Microseconds())/float64(want), "cpu-µs/delivery")
	b.ReportMetric(float64(want)/b.Elapsed().Seconds(), "deliveries/s")
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
