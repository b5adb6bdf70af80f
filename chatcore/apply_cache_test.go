package chatcore

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/fxamacker/cbor/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"github.com/lni/vfs"
)

// openCachedShard opens a room shard's state machine on a fresh state db,
// as a node does: diskSM over a roomShard, whose applyCache lives across
// Update calls.
func openCachedShard(t *testing.T) (*diskSM, *roomShard) {
	t.Helper()
	db, err := openStateDB(vfs.NewMem(), "state", ProfileSmall)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	app := &roomShard{roomApplier: roomApplier{shard: roomShardForTest, ids: newDedupIndex()}, hub: newHub(db)}
	s := &diskSM{shard: roomShardForTest, db: db, app: app}
	if _, err := s.Open(nil); err != nil {
		t.Fatal(err)
	}
	return s, app
}

// TestApplyCacheKeepsApplyDeterministic applies the same log one entry per
// batch with no cache, and through diskSM in batches of random size, with
// gaps in the indexes now and then (entries dragonboat applies itself, such
// as membership changes) and a restart now and then: the state dbs agree
// key for key, the applied index aside.
func TestApplyCacheKeepsApplyDeterministic(t *testing.T) {
	log := deterministicLog(t, 600)
	want := dumpDB(t, applyGrouped(t, log, func() int { return 1 }, nil))
	s, app := openCachedShard(t)
	rng := rand.New(rand.NewPCG(5, 6))
	var index uint64
	hits := 0
	for len(log) > 0 {
		switch rng.IntN(10) {
		case 0:
			index++ // an entry that never reaches Update
		case 1:
			app.cache = applyCache{} // a restart
			if _, err := s.Open(nil); err != nil {
				t.Fatal(err)
			}
		}
		if app.cache.begin(index+1) != nil {
			hits++
		}
		k := min(1+rng.IntN(8), len(log))
		entries := make([]sm.Entry, k)
		for i := range entries {
			index++
			entries[i] = sm.Entry{Index: index, Cmd: log[i]}
		}
		log = log[k:]
		if _, err := s.Update(entries); err != nil {
			t.Fatal(err)
		}
	}
	if hits == 0 {
		t.Fatal("no batch used the cache")
	}
	got := dumpDB(t, s.db.db)
	lo, hi := shardRange(roomShardForTest)
	applied := appliedKey(roomShardForTest)
	var kept [][2][]byte // the shard's keys: not the db's format record
	for _, kv := range got {
		if bytes.Compare(kv[0], lo) >= 0 && bytes.Compare(kv[0], hi) < 0 && !bytes.Equal(kv[0], applied) {
			kept = append(kept, kv)
		}
	}
	sameState(t, "one by one", want, "through diskSM with the cache", kept)
}

// TestApplyCacheIsUsedOnlyRightAfterItsBatch changes a room's header in
// the db behind the cache's back, as a recovered snapshot does: a batch
// after a gap in the indexes reads the db, and a batch that follows the
// cached one directly sees the cached header, which shows the cache in use.
func TestApplyCacheIsUsedOnlyRightAfterItsBatch(t *testing.T) {
	s, _ := openCachedShard(t)
	send := func(index uint64) uint64 {
		t.Helper()
		cmd := roomCommand{Op: roomOpBatch, Batch: []roomCommand{{Op: roomOpSend, Room: "general", User: "alice", ID: [16]byte{0xca, byte(index)}, TS: int64(index) * 1e9, Text: "hi"}}}
		data, err := cbor.Marshal(cmd)
		if err != nil {
			t.Fatal(err)
		}
		out, err := s.Update([]sm.Entry{{Index: index, Cmd: data}})
		if err != nil {
			t.Fatal(err)
		}
		var items []batchItem
		if err := cbor.Unmarshal(out[0].Result.Data, &items); err != nil || len(items) != 1 {
			t.Fatalf("result %x: %v", out[0].Result.Data, err)
		}
		return items[0].Seq
	}
	poke := func(last uint64) {
		t.Helper()
		b := s.db.db.NewBatch()
		if err := putCBOR(b, metaKey(roomShardForTest, "general"), roomMeta{LastSeq: last, Created: 1}); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(nil); err != nil {
			t.Fatal(err)
		}
	}
	if seq := send(1); seq != 1 {
		t.Fatalf("first send got seq %d", seq)
	}
	poke(40) // a snapshot of the room at seq 40, recovered
	if seq := send(50); seq != 41 {
		t.Fatalf("a batch after a gap got seq %d, want 41 from the db", seq)
	}
	poke(80) // behind the cache's back
	if seq := send(51); seq != 42 {
		t.Fatalf("the batch right after the cached one got seq %d, want 42 from the cache", seq)
	}
}
