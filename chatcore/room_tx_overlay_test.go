package chatcore

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/fxamacker/cbor/v2"
)

// TestRoomTxReadsItsOwnWrites checks that a room batch's reads see the db as
// the batch has changed it, as an indexed batch would: keys set and deleted
// in the batch, and ranges listed in key order across both.
func TestRoomTxReadsItsOwnWrites(t *testing.T) {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, k := range []string{"k1", "k3", "k5"} {
		if err := db.Set([]byte(k), []byte("db"), nil); err != nil {
			t.Fatal(err)
		}
	}
	b := db.NewBatch()
	defer b.Close()
	tx := newRoomTx(db, b, roomShardForTest, nil)
	for _, step := range []error{tx.set([]byte("k2"), nil), tx.del([]byte("k3")), tx.set([]byte("k4"), nil), tx.setCBOR([]byte("k6"), 7)} {
		if step != nil {
			t.Fatal(step)
		}
	}
	for k, want := range map[string]bool{"k1": true, "k2": true, "k3": false, "k4": true, "k6": true, "k7": false} {
		if got, err := tx.has([]byte(k)); err != nil || got != want {
			t.Errorf("has(%s) = %v, %v; want %v", k, got, err, want)
		}
	}
	var v int
	if found, err := tx.getCBOR([]byte("k6"), &v); err != nil || !found || v != 7 {
		t.Errorf("getCBOR(k6) = %v, %v, %d; want 7", found, err, v)
	}
	for limit, want := range map[int]string{1: "[k1]", 3: "[k1 k2 k4]", 10: "[k1 k2 k4 k5]"} {
		keys, err := tx.firstKeys([]byte("k"), []byte("k6"), limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s", keys); got != want {
			t.Errorf("firstKeys(limit %d) = %s, want %s", limit, got, want)
		}
	}
}

// TestApplyPrunesItsOwnRecords checks a batch that writes a dedup record
// already past the window (a late retry, stamped long ago), prunes it, and
// sees the id again: applied as one batch it must come out as applied one
// entry at a time, the retry a new message and the next retry its
// duplicate.
func TestApplyPrunesItsOwnRecords(t *testing.T) {
	now := int64(3 * DedupWindow)
	var log [][]byte
	add := func(c roomCommand) {
		c.Op, c.Room, c.User, c.Text = roomOpSend, "general", "alice", "x"
		data, err := cbor.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, data)
	}
	add(roomCommand{ID: [16]byte{1}, TS: now}) // sets the shard clock
	late := roomCommand{ID: [16]byte{2}, TS: now - int64(2*DedupWindow)}
	add(late)
	for i := range pruneEvery {
		now += 1000
		add(roomCommand{ID: [16]byte{3, byte(i >> 8), byte(i)}, TS: now})
	}
	add(late) // pruned by now: a new message
	add(late) // a duplicate of that one
	single := dumpDB(t, applyGrouped(t, log, func() int { return 1 }, nil))
	whole := dumpDB(t, applyGrouped(t, log, func() int { return len(log) }, nil))
	sameState(t, "one by one", single, "in one batch", whole)
	db := applyGrouped(t, log, func() int { return len(log) }, nil)
	var m roomMeta
	if _, err := getCBOR(db, metaKey(roomShardForTest, "general"), &m); err != nil {
		t.Fatal(err)
	}
	if want := uint64(2 + pruneEvery + 1); m.LastSeq != want {
		t.Fatalf("room ends at seq %d, want %d: the late id was pruned, so its retry is new once", m.LastSeq, want)
	}
}
