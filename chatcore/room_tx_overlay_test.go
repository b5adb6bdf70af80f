package chatcore

import (
	"fmt"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
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
	tx := newRoomTx(db, b, roomShardForTest)
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
