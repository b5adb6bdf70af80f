package chatcore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley/placement"
)

func TestApplyBatch(t *testing.T) {
	h := newApplierHarness(t)
	first := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{9}, Text: "before"})
	base := h.ts
	batch := roomCommand{Op: roomOpBatch, Batch: []roomCommand{
		{Op: roomOpSend, Room: "general", User: "bob", ID: [16]byte{1}, TS: base + 1, Text: "one"},
		{Op: roomOpSend, Room: "random", User: "bob", ID: [16]byte{2}, TS: base + 2, Text: "two"},
		{Op: roomOpJoin, Room: "general", User: "carol", ID: [16]byte{3}, TS: base + 3},
		{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{9}, TS: base + 4, Text: "retried"},
		{Op: roomOpSend, Room: "general", User: "bob", ID: [16]byte{4}, TS: base + 5, Text: "three"},
		{Op: roomOpSend, Room: "general", User: "", ID: [16]byte{5}, TS: base + 6, Text: "nobody"},
	}}
	res := h.apply(batch)
	if res.reject != "" || len(res.items) != len(batch.Batch) {
		t.Fatalf("batch applied as %+v", res)
	}
	v, data, err := encodeResult(res)
	if err != nil || v != 1 {
		t.Fatalf("encoded %d, %v", v, err)
	}
	var items []batchItem
	if err := cbor.Unmarshal(data, &items); err != nil {
		t.Fatal(err)
	}
	want := []batchItem{
		{Seq: 2, TS: base + 1},
		{Seq: 1, TS: base + 2},
		{Reject: "not a send"},
		{Seq: first.seq, TS: first.ts, Duplicate: true},
		{Seq: 3, TS: base + 5},
		{Reject: "invalid send"},
	}
	if fmt.Sprint(items) != fmt.Sprint(want) {
		t.Fatalf("items %+v\nwant  %+v", items, want)
	}
	var texts []string
	for _, m := range h.messages("general") {
		texts = append(texts, m.Text)
	}
	if fmt.Sprint(texts) != "[before one three]" {
		t.Fatalf("general holds %q", texts)
	}
	if m := h.meta("random"); m.LastSeq != 1 {
		t.Fatalf("random meta %+v", m)
	}
}

func TestApplyBatchRejectsMalformed(t *testing.T) {
	h := newApplierHarness(t)
	for _, cmd := range []roomCommand{
		{Op: roomOpBatch},
		{Op: roomOpBatch, Room: "general", Batch: []roomCommand{{Op: roomOpSend, Room: "general", User: "bob", ID: [16]byte{1}, Text: "x"}}},
	} {
		if res := h.apply(cmd); res.reject == "" {
			t.Errorf("%+v applied as %+v, want a rejection", cmd, res)
		}
	}
	nested := roomCommand{Op: roomOpBatch, Batch: []roomCommand{{Op: roomOpSend, Room: "general", User: "bob", ID: [16]byte{1}, Text: "x",
		Batch: []roomCommand{{Op: roomOpSend, Room: "general", User: "bob", ID: [16]byte{2}, Text: "y"}}}}}
	if res := h.apply(nested); len(res.items) != 1 || res.items[0].reject == "" {
		t.Errorf("nested batch applied as %+v", res)
	}
	if m := h.meta("general"); m.LastSeq != 0 {
		t.Fatalf("rejected batches wrote %+v", m)
	}
}

// TestApplyGroupingIsDeterministic applies one log twice: one entry per
// apply batch, and in apply batches of random sizes, as dragonboat may hand
// them to two replicas. The state must come out byte for byte the same,
// dedup expiry included.
func TestApplyGroupingIsDeterministic(t *testing.T) {
	log := deterministicLog(t, 600)
	single := dumpDB(t, applyGrouped(t, log, func() int { return 1 }, nil))
	rng := rand.New(rand.NewPCG(1, 2))
	grouped := dumpDB(t, applyGrouped(t, log, func() int { return 1 + rng.IntN(40) }, nil))
	sameState(t, "one by one", single, "grouped", grouped)
	// A replica whose dedup index is rebuilt now and then, as at a
	// restart, decides the same.
	rebuilt := dumpDB(t, applyGrouped(t, log, func() int { return 1 + rng.IntN(40) }, newDedupIndex()))
	sameState(t, "one by one", single, "grouped with a rebuilt dedup index", rebuilt)
}

// sameState fails t unless two dumps hold the same keys and values.
func sameState(t *testing.T, aName string, a [][2][]byte, bName string, b [][2][]byte) {
	t.Helper()
	if len(a) == 0 || len(a) != len(b) {
		t.Fatalf("%d keys %s, %d %s", len(a), aName, len(b), bName)
	}
	for i := range a {
		if !bytes.Equal(a[i][0], b[i][0]) || !bytes.Equal(a[i][1], b[i][1]) {
			t.Fatalf("key %d differs: %x=%x %s, %x=%x %s", i, a[i][0], a[i][1], aName, b[i][0], b[i][1], bName)
		}
	}
}

// deterministicLog is n entries of sends, retries, joins, leaves and batches
// over three rooms, spread over more than the dedup window so that expiry
// runs.
func deterministicLog(t *testing.T, n int) [][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	rooms := []string{"general", "random", "ops"}
	users := []string{"alice", "bob", "carol"}
	step := int64(3 * DedupWindow / time.Duration(n))
	ts := int64(1_000_000_000)
	var sent []roomCommand
	cmd := func() roomCommand {
		ts += step
		c := roomCommand{Room: rooms[rng.IntN(3)], User: users[rng.IntN(3)], TS: ts}
		binary.BigEndian.PutUint64(c.ID[:8], rng.Uint64())
		binary.BigEndian.PutUint64(c.ID[8:], rng.Uint64())
		switch r := rng.IntN(10); {
		case r < 6:
			c.Op, c.Text = roomOpSend, fmt.Sprintf("message %d", len(sent))
			sent = append(sent, c)
		case r < 7 && len(sent) > 0:
			c = sent[rng.IntN(len(sent))] // a retry, maybe long after
		case r < 8:
			c.Op = roomOpJoin
		case r < 9:
			c.Op, c.Seq = roomOpRead, 1+rng.Uint64N(uint64(len(sent)+2))
		default:
			c.Op = roomOpLeave
		}
		return c
	}
	out := make([][]byte, n)
	for i := range out {
		c := cmd()
		if rng.IntN(4) == 0 {
			b := roomCommand{Op: roomOpBatch}
			for range 1 + rng.IntN(8) {
				s := cmd()
				s.Op = roomOpSend
				s.Text = "batched"
				b.Batch = append(b.Batch, s)
			}
			c = b
		}
		data, err := cbor.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = data
	}
	return out
}

// applyGrouped applies log into a fresh db, next() entries per batch. Given
// a dedup index, it rebuilds the index from the db every 7th batch, as a
// restarted replica does; given none, it keeps one of its own.
func applyGrouped(t *testing.T, log [][]byte, next func() int, ids *dedupIndex) *pebble.DB {
	return applyGroupedWith(t, log, next, ids, ids != nil)
}

// applyGroupedWith is applyGrouped, with the dedup index ids (a new one if
// nil) rebuilt every 7th batch if rebuild is set.
func applyGroupedWith(t *testing.T, log [][]byte, next func() int, ids *dedupIndex, rebuild bool) *pebble.DB {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if ids == nil {
		ids = newDedupIndex()
	}
	a := roomApplier{shard: placement.RoomShards(1)[0], ids: ids}
	for n := 0; len(log) > 0; n++ {
		if rebuild && n%7 == 6 {
			if err := ids.rebuild(db, a.shard); err != nil {
				t.Fatal(err)
			}
		}
		b := db.NewBatch()
		tx := newRoomTx(db, b, a.shard, nil)
		k := min(next(), len(log))
		for _, e := range log[:k] {
			if _, err := a.applyEntry(tx, e); err != nil {
				t.Fatal(err)
			}
		}
		log = log[k:]
		if err := tx.flush(); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(pebble.NoSync); err != nil {
			t.Fatal(err)
		}
		b.Close()
		tx.dedup.commitTo(ids)
	}
	return db
}

func dumpDB(t *testing.T, db *pebble.DB) [][2][]byte {
	it := db.NewIter(nil)
	defer it.Close()
	var out [][2][]byte
	for ok := it.First(); ok; ok = it.Next() {
		out = append(out, [2][]byte{append([]byte(nil), it.Key()...), append([]byte(nil), it.Value()...)})
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestApplyDedupExpiry checks that a retry within the window is a duplicate,
// and that records past the window are pruned as sends go on.
func TestApplyDedupExpiry(t *testing.T) {
	h := newApplierHarness(t)
	send := func(i int) applyResult {
		var id [16]byte
		binary.BigEndian.PutUint64(id[:], uint64(i)+1)
		return h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: id, Text: "x"})
	}
	for i := range pruneEvery {
		send(i)
	}
	if res := send(0); !res.duplicate || res.seq != 1 {
		t.Fatalf("retry within the window applied as %+v", res)
	}
	h.ts += int64(DedupWindow) + 1 // the first pruneEvery sends expire
	for i := pruneEvery; i < 3*pruneEvery; i++ {
		send(i)
	}
	if res := send(0); res.duplicate || res.seq != 3*pruneEvery+1 {
		t.Fatalf("retry after the window applied as %+v, want a new message", res)
	}
	if n := countKeys(t, h.db, expiryPrefix(h.a.shard)); n != 2*pruneEvery+1 {
		t.Fatalf("%d dedup records, want %d: expired ones are not pruned", n, 2*pruneEvery+1)
	}
}

func countKeys(t *testing.T, db *pebble.DB, prefix []byte) int {
	hi := append(append([]byte(nil), prefix...), 0xff, 0xff, 0xff, 0xff)
	it := db.NewIter(&pebble.IterOptions{LowerBound: prefix, UpperBound: hi})
	defer it.Close()
	n := 0
	for ok := it.First(); ok; ok = it.Next() {
		n++
	}
	return n
}
