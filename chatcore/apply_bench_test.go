package chatcore

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"
	"github.com/parleychat/parley"
)

// BenchmarkApply measures a room shard's apply path alone, as diskSM.Update
// runs it on a real state db: entries of group-committed batches of sends
// with fresh ids, four entries per Update, and (perBatch=1/perUpdate=1)
// one send per Update, as at a low rate. One op is one message; the
// allocations per op do not depend on the machine's load, and cpu-ns/msg
// (the process's CPU time while Update runs, pebble's own goroutines
// included) depends on it less than ns/op, which counts waiting for a core.
func BenchmarkApply(b *testing.B) {
	for _, shape := range []struct{ perBatch, perUpdate int }{{4, 4}, {1, 1}} {
		perBatch, perUpdate := shape.perBatch, shape.perUpdate
		name := fmt.Sprintf("perBatch=%d", perBatch)
		if perUpdate != 4 {
			name += fmt.Sprintf("/perUpdate=%d", perUpdate)
		}
		b.Run(name, func(b *testing.B) {
			db, err := openStateDB(vfs.Default, b.TempDir(), ProfileDefault)
			if err != nil {
				b.Fatal(err)
			}
			defer db.Close()
			app := &roomShard{roomApplier: roomApplier{shard: roomShardForTest, ids: newDedupIndex()}, hub: newHub(db)}
			s := &diskSM{shard: roomShardForTest, db: db, app: app}
			if _, err := s.Open(nil); err != nil {
				b.Fatal(err)
			}
			text := string(make([]byte, 128))
			var index uint64
			entry := func() sm.Entry {
				batch := roomCommand{Op: roomOpBatch}
				for range perBatch {
					batch.Batch = append(batch.Batch, roomCommand{Op: roomOpSend, Room: fmt.Sprintf("room-%d", index%16), User: "bench",
						ID: parley.NewMsgID(time.Now()), TS: time.Now().UnixNano(), Text: text})
				}
				data, err := cbor.Marshal(batch)
				if err != nil {
					b.Fatal(err)
				}
				index++
				return sm.Entry{Index: index, Cmd: data}
			}
			b.ReportAllocs()
			b.ResetTimer()
			var cpu time.Duration
			for done := 0; done < b.N; done += perBatch * perUpdate {
				b.StopTimer()
				entries := make([]sm.Entry, perUpdate)
				for i := range entries {
					entries[i] = entry()
				}
				b.StartTimer()
				cpu0 := processCPU(b)
				if _, err := s.Update(entries); err != nil {
					b.Fatal(err)
				}
				cpu += processCPU(b) - cpu0
			}
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/msg")
		})
	}
}

// processCPU is the process's user plus system CPU time.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
