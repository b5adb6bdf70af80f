package chatcore_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// BenchmarkSend measures committed sends per second on an in-process 3-node
// cluster: 64 concurrent senders spread over as many rooms as shards, each
// room on its own shard where the ring allows. It isolates the replicated
// core from QUIC and the daemon.
func BenchmarkSend(b *testing.B) {
	for _, shards := range []int{1, 8} {
		b.Run(fmt.Sprintf("shards=%d", shards), func(b *testing.B) {
			var obs proposalCounter
			c := chatcoretest.StartCluster(b, 3, chatcoretest.Options{Shards: shards, Observer: &obs})
			rooms := roomsOnDistinctShards(b, c.Nodes[0], shards)
			text := strings.Repeat("x", 128)
			var i atomic.Int64
			b.SetParallelism(32) // 64 senders on 2 cores
			b.ResetTimer()
			start, cpu0, props0 := time.Now(), cpuTime(), obs.proposals.Load()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					k := i.Add(1)
					n := c.Nodes[k%3]
					if os.Getenv("BENCH_LEADER_ONLY") != "" {
						n = c.Nodes[0]
					}
					ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
					_, err := n.Send(ctx, chatcore.SendParams{Room: rooms[k%int64(len(rooms))], User: "bench", ID: parley.NewMsgID(time.Now()), Text: text})
					cancel()
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
			b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
			b.ReportMetric(float64(b.N)/float64(max(obs.proposals.Load()-props0, 1)), "sends/proposal")
		})
	}
}

func roomsOnDistinctShards(b *testing.B, n *chatcore.Node, shards int) []string {
	seen := map[uint64]bool{}
	var rooms []string
	for i := 0; len(rooms) < shards && i < 10000; i++ {
		r := fmt.Sprintf("room-%d", i)
		s, err := n.RoomShard(r)
		if err != nil {
			b.Fatal(err)
		}
		if !seen[s] {
			seen[s] = true
			rooms = append(rooms, r)
		}
	}
	return rooms
}

// cpuTime is the process's user plus system CPU time: the three nodes of the
// in-process cluster and the senders together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// proposalCounter counts the proposals of every node that committed: with
// the sends, the mean number of sends a batch entry carried (the few
// registry proposals of the run included).
type proposalCounter struct {
	proposals atomic.Int64
}

func (c *proposalCounter) Proposed(_ uint64, _ time.Duration, err error) {
	if err == nil {
		c.proposals.Add(1)
	}
}

func (c *proposalCounter) Sent(chatcore.SendResult, error) {}
func (c *proposalCounter) Delivered(int, bool)             {}
