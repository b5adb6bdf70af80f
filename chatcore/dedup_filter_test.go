package chatcore

import (
	"math/rand/v2"
	"testing"

	"github.com/parleychat/parley/placement"
)

// roomShardForTest is the room shard the applier tests use.
var roomShardForTest = placement.RoomShards(1)[0]

// TestDedupFilterCounts checks that a hash shared by two records stays in
// the filter until both are forgotten: a collision must never make the
// filter answer "absent" for a record that is still there.
func TestDedupFilterCounts(t *testing.T) {
	f := newDedupFilter()
	h := f.hash([]byte("some suffix"))
	if f.mayHold(h) {
		t.Fatal("empty filter holds a hash")
	}
	f.add(h)
	f.add(h)
	f.remove(h)
	if !f.mayHold(h) {
		t.Fatal("one of two records with the same hash forgotten, and the filter says absent")
	}
	f.remove(h)
	f.remove(h) // forgetting more than was added changes nothing
	if f.mayHold(h) || len(f.counts) != 0 {
		t.Fatalf("filter still holds %v after every record was forgotten", f.counts)
	}
}

// TestDedupFilterRestart checks that a retry is still a duplicate after the
// filter is rebuilt from the db, as at a replica's restart or after a
// snapshot.
func TestDedupFilterRestart(t *testing.T) {
	h := newApplierHarness(t)
	first := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{7}, Text: "x"})
	h.a.ids = newDedupFilter()
	if err := h.a.ids.rebuild(h.db, h.a.shard); err != nil {
		t.Fatal(err)
	}
	if res := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{7}, Text: "x"}); !res.duplicate || res.seq != first.seq {
		t.Fatalf("retry after a rebuild applied as %+v, want a duplicate of seq %d", res, first.seq)
	}
}

// TestDedupFilterTracksRecords applies a long log of sends, retries and
// expiry and checks that the filter counts exactly the dedup records in
// the db: it neither leaks pruned records nor loses live ones.
func TestDedupFilterTracksRecords(t *testing.T) {
	ids := newDedupFilter()
	rng := rand.New(rand.NewPCG(5, 6))
	db := applyGrouped(t, deterministicLog(t, 900), func() int { return 1 + rng.IntN(20) }, ids)
	records := countKeys(t, db, dedupKey(roomShardForTest, nil))
	total := 0
	for _, n := range ids.counts {
		total += int(n)
	}
	if records == 0 || total != records {
		t.Fatalf("filter counts %d records, the db holds %d", total, records)
	}
	rebuilt := newDedupFilter()
	if err := rebuilt.rebuild(db, roomShardForTest); err != nil {
		t.Fatal(err)
	}
	if len(rebuilt.counts) != len(ids.counts) {
		t.Fatalf("rebuilt filter holds %d hashes, the running one %d", len(rebuilt.counts), len(ids.counts))
	}
}
