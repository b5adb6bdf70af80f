package chatcore

import (
	"encoding/binary"
	"fmt"
	"strings"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/fxamacker/cbor/v2"
	"github.com/lni/vfs"
)

// TestStateFormatNewDB checks that a new state db records this build's
// format, and opens again.
func TestStateFormatNewDB(t *testing.T) {
	dir := t.TempDir()
	db, err := openStateDB(vfs.Default, dir, ProfileDefault)
	if err != nil {
		t.Fatal(err)
	}
	if db.formatWas != 0 {
		t.Fatalf("a new db had format %d", db.formatWas)
	}
	if v, err := getUint64(db.db, formatKey()); err != nil || v != stateFormat {
		t.Fatalf("format record %d, %v; want %d", v, err, stateFormat)
	}
	db.Close()
	db, err = openStateDB(vfs.Default, dir, ProfileDefault)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.formatWas != stateFormat {
		t.Fatalf("reopened db had format %d", db.formatWas)
	}
}

// TestStateFormat1Migrates writes a format 1 db (dedup records by id and
// empty expiry records, no format record) as the previous release did,
// and checks that opening it migrates them: a retry of a remembered id is
// still a duplicate of the same message, and no record by id is left.
func TestStateFormat1Migrates(t *testing.T) {
	dir := t.TempDir()
	old, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	shard := roomShardForTest
	ids := [][16]byte{{1}, {2}, {3}}
	var seqs []uint64
	for i, id := range ids {
		seq, ts := uint64(10+i), int64(1_000_000_000+i)
		seqs = append(seqs, seq)
		suffix := dedupSuffix("general", "alice", id)
		rec, err := cbor.Marshal(dedupRecordV1{Seq: seq, TS: ts})
		if err != nil {
			t.Fatal(err)
		}
		byID := append(append(shardPrefix(shard), kindDedupV1), suffix...)
		for k, v := range map[string][]byte{string(byID): rec, string(expiryKey(shard, ts, suffix)): nil} {
			if err := old.Set([]byte(k), v, nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	// An applied index of the registry shard: another shard, untouched.
	if err := old.Set(appliedKey(1), binary.BigEndian.AppendUint64(nil, 42), nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := openStateDB(vfs.Default, dir, ProfileDefault)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if db.formatWas != 1 {
		t.Fatalf("format 1 db opened as format %d", db.formatWas)
	}
	if n := countKeys(t, db.db, append(shardPrefix(shard), kindDedupV1)); n != 0 {
		t.Fatalf("%d format 1 dedup records left", n)
	}
	if v, err := getUint64(db.db, appliedKey(1)); err != nil || v != 42 {
		t.Fatalf("registry applied index %d, %v after migration", v, err)
	}
	a := roomApplier{shard: shard, ids: newDedupIndex()}
	if err := a.ids.rebuild(db.db, shard); err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		b := db.db.NewBatch()
		tx := newRoomTx(db.db, b, shard, nil)
		seq, ts, found, err := a.findDedup(tx, a.ids.hash(dedupSuffix("general", "alice", id)), dedupSuffix("general", "alice", id))
		b.Close()
		if err != nil || !found || seq != seqs[i] || ts != int64(1_000_000_000+i) {
			t.Fatalf("id %d after migration: seq %d ts %d found %v err %v; want seq %d", i, seq, ts, found, err, seqs[i])
		}
	}
}

// TestStateFormatNewerRefused checks that a db of a format this build does
// not know is refused with an error that says what to do, and left as is.
func TestStateFormatNewerRefused(t *testing.T) {
	dir := t.TempDir()
	old, err := pebble.Open(dir, &pebble.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Set(formatKey(), binary.BigEndian.AppendUint64(nil, stateFormat+1), nil); err != nil {
		t.Fatal(err)
	}
	if err := old.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := openStateDB(vfs.Default, dir, ProfileDefault)
	if err == nil {
		db.Close()
		t.Fatal("a db of a newer format opened")
	}
	for _, want := range []string{fmt.Sprintf("format %d", stateFormat+1), "newer", "run the parleyd that wrote this data dir", dir} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}
