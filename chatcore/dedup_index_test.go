package chatcore

import (
	"math/rand/v2"
	"testing"

	"github.com/parleychat/parley/placement"
)

// roomShardForTest is the room shard the applier tests use.
var roomShardForTest = placement.RoomShards(1)[0]

// TestDedupIndexCollisions checks that a hash shared by two records keeps
// both times until each is forgotten: a collision must never hide a record
// that is still there.
func TestDedupIndexCollisions(t *testing.T) {
	x := newDedupIndex()
	h := x.hash([]byte("some suffix"))
	times := func() []int64 {
		var out []int64
		x.ts.each(h, func(ts int64) bool { out = append(out, ts); return true })
		return out
	}
	if got := times(); len(got) != 0 {
		t.Fatalf("empty index holds %v", got)
	}
	x.ts.add(h, 10)
	x.ts.add(h, 20)
	x.ts.add(h, 30)
	x.ts.remove(h, 10)
	if got := times(); len(got) != 2 || got[0]+got[1] != 50 {
		t.Fatalf("after forgetting 10 of 10, 20, 30 the index holds %v", got)
	}
	x.ts.remove(h, 30)
	x.ts.remove(h, 99) // forgetting a time it does not hold changes nothing
	if got := times(); len(got) != 1 || got[0] != 20 {
		t.Fatalf("index holds %v, want [20]", got)
	}
	x.ts.remove(h, 20)
	if got := times(); len(got) != 0 || x.ts.len() != 0 || len(x.ts.more) != 0 {
		t.Fatalf("index still holds %v (%d) after every record was forgotten", got, x.ts.len())
	}
}

// TestDedupIndexRestart checks that a retry is still a duplicate after the
// index is rebuilt from the db, as at a replica's restart or after a
// snapshot.
func TestDedupIndexRestart(t *testing.T) {
	h := newApplierHarness(t)
	first := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{7}, Text: "x"})
	h.a.ids = newDedupIndex()
	if res := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{8}, Text: "x"}); res.duplicate {
		t.Fatalf("a new id applied as %+v", res)
	}
	h.a.ids = newDedupIndex()
	if err := h.a.ids.rebuild(h.db, h.a.shard); err != nil {
		t.Fatal(err)
	}
	if res := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{7}, Text: "x"}); !res.duplicate || res.seq != first.seq || res.ts != first.ts {
		t.Fatalf("retry after a rebuild applied as %+v, want a duplicate of %+v", res, first)
	}
}

// TestDedupIndexTracksRecords applies a long log of sends, retries and
// expiry and checks that the index holds exactly the dedup records in the
// db: it neither leaks pruned records nor loses live ones.
func TestDedupIndexTracksRecords(t *testing.T) {
	ids := newDedupIndex()
	rng := rand.New(rand.NewPCG(5, 6))
	db := applyGroupedWith(t, deterministicLog(t, 900), func() int { return 1 + rng.IntN(20) }, ids, false)
	records := countKeys(t, db, expiryPrefix(roomShardForTest))
	if records == 0 || ids.ts.len() != records {
		t.Fatalf("index holds %d records, the db %d", ids.ts.len(), records)
	}
	rebuilt := newDedupIndex()
	if err := rebuilt.rebuild(db, roomShardForTest); err != nil {
		t.Fatal(err)
	}
	if rebuilt.ts.len() != records {
		t.Fatalf("rebuilt index holds %d records, the db %d", rebuilt.ts.len(), records)
	}
}
