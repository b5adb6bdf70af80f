package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
)

// BenchmarkDaemonSend measures committed sends per second through the whole
// server path: the SDK over real QUIC on loopback into three in-process
// servers, a session per client, the proposer and Raft. 64 concurrent
// senders share three connections, one per server, and eight rooms. Its
// cpu-µs/msg is the process's: servers and clients together.
func BenchmarkDaemonSend(b *testing.B) {
	c := daemontest.StartCluster(b, 3, daemontest.Options{Shards: 8, Configure: func(_ int, cfg *daemon.Config) {
		cfg.RequestsPerSecond = 1 << 20 // the benchmark measures sends, not the rate limit
	}})
	clients := make([]*client.Client, c.Len())
	for i := range clients {
		clients[i] = benchDial(b, fmt.Sprintf("bench%d", i), c.Addr(i))
	}
	rooms := make([]string, 8)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("bench-%d", i)
	}
	text := strings.Repeat("x", 128)
	var k atomic.Int64
	b.SetParallelism(32) // 64 senders on 2 cores
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := k.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err := clients[i%int64(len(clients))].Send(ctx, rooms[i%int64(len(rooms))], text)
			cancel()
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64((processCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
}

// benchDial logs user in at addr, waiting out a first login's argon2id.
func benchDial(b *testing.B, user, addr string) *client.Client {
	b.Helper()
	known := filepath.Join(b.TempDir(), "known_clusters")
	var cl *client.Client
	chatcoretest.WaitFor(b, 90*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		cl, err = client.Dial(ctx, client.Options{Servers: []string{addr}, User: user, Password: "pw-" + user, KnownClustersPath: known})
		return err
	})
	b.Cleanup(func() { cl.Close() })
	return cl
}

// processCPU is the process's user plus system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
