package chatcore

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
)

// backupOf is a room's log as another cluster had it: n messages from seq
// 1, a join notice first, stamped just before ts.
func backupOf(n int, ts int64) []storedMsg {
	out := make([]storedMsg, n)
	for i := range out {
		m := storedMsg{ID: [16]byte{0xb, byte(i >> 8), byte(i)}, User: []string{"alice", "bob"}[i%2], TS: ts - int64(n-i)*int64(time.Millisecond), Text: fmt.Sprintf("message %d", i+1)}
		if i == 0 {
			m.Kind, m.Text = parley.KindJoin, "alice joined"
		}
		out[i] = m
	}
	return out
}

func importCmdOf(room string, first uint64, msgs []storedMsg, members []importMember, last uint64) roomCommand {
	return roomCommand{Op: roomOpImport, Room: room, Import: &importCmd{Created: 5, First: first, Msgs: msgs, Members: members, Last: last}}
}

func TestImportIntoEmptyRoom(t *testing.T) {
	h := newApplierHarness(t)
	log := backupOf(5, h.ts)
	members := []importMember{{User: "alice", Joined: log[0].TS, Read: 5}, {User: "bob", Joined: log[1].TS, Read: 2}}
	res := h.apply(importCmdOf("general", 1, log, members, 5))
	if res.reject != "" || res.importOut != (importOutcome{Added: 5, LastSeq: 5, MembersAdded: 2}) || len(res.imported) != 5 {
		t.Fatalf("import applied as %+v", res)
	}
	got := h.messages("general")
	for i, m := range got {
		w := log[i]
		if m.Seq != uint64(i+1) || m.ID != parley.MsgID(w.ID) || m.User != w.User || m.TS.UnixNano() != w.TS || m.Text != w.Text || m.Kind != w.Kind {
			t.Fatalf("seq %d is %+v, want %+v", i+1, m, w)
		}
	}
	if meta := h.meta("general"); meta.LastSeq != 5 || meta.Members != 2 || meta.Created != 5 {
		t.Fatalf("meta %+v", meta)
	}
	if !slices.Equal(h.members("general"), []string{"alice", "bob"}) {
		t.Fatalf("members %v", h.members("general"))
	}
	// A retry of an imported send is still a duplicate; new sends go on.
	if r := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: log[3].User, ID: log[3].ID, Text: "again"}); !r.duplicate || r.seq != 4 {
		t.Fatalf("retried imported send applied as %+v", r)
	}
	if r := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "carol", Text: "after"}); r.seq != 6 || r.duplicate {
		t.Fatalf("send after the import applied as %+v", r)
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "bob", Seq: 6}); !r.changed || r.seq != 6 {
		t.Fatalf("bob's read marker moved as %+v", r)
	}
}

// TestImportIsIdempotent imports the same batches twice, and a batch that
// overlaps what the room holds: what the room holds is skipped, the rest
// is added, and a repeat writes not one byte.
func TestImportIsIdempotent(t *testing.T) {
	h := newApplierHarness(t)
	log := backupOf(10, h.ts)
	members := []importMember{{User: "alice", Joined: log[0].TS, Read: 10}}
	h.apply(importCmdOf("general", 1, log[:4], nil, 0))
	if res := h.apply(importCmdOf("general", 3, log[2:], members, 10)); res.importOut != (importOutcome{Added: 6, Skipped: 2, LastSeq: 10, MembersAdded: 1}) {
		t.Fatalf("overlapping batch applied as %+v", res)
	}
	before := dumpDB(t, h.db)
	for _, cmd := range []roomCommand{importCmdOf("general", 1, log[:4], nil, 0), importCmdOf("general", 1, log, members, 10)} {
		res := h.apply(cmd)
		if res.reject != "" || res.importOut.Added != 0 || res.importOut.MembersAdded != 0 || len(res.imported) != 0 {
			t.Fatalf("repeated import applied as %+v", res)
		}
	}
	if after := dumpDB(t, h.db); !sameDump(before, after) {
		t.Fatal("a repeated import changed the state db")
	}
}

func TestImportConflictChangesNothing(t *testing.T) {
	h := newApplierHarness(t)
	log := backupOf(6, h.ts)
	h.apply(importCmdOf("general", 1, log[:3], nil, 0))
	other := slices.Clone(log)
	other[1].Text = "not what the room holds"
	before := dumpDB(t, h.db)
	for name, tc := range map[string]struct {
		cmd  roomCommand
		want string
	}{
		"different message": {importCmdOf("general", 1, other, nil, 0), "seq 2 holds another message"},
		"gap":               {importCmdOf("general", 5, log[4:], nil, 0), "ends at seq 3: seq 5 would leave a gap"},
		"members too early": {importCmdOf("general", 1, log[:3], []importMember{{User: "bob", Joined: 1, Read: 1}}, 6), "ends at seq 3, before the backup's members at seq 6"},
		"bad kind":          {importCmdOf("general", 4, []storedMsg{{ID: [16]byte{1}, User: "bob", TS: 9, Text: "x", Kind: "shout"}}, nil, 0), `seq 4: unknown kind "shout"`},
		"zero id":           {importCmdOf("general", 4, []storedMsg{{User: "bob", TS: 9, Text: "x"}}, nil, 0), "seq 4: zero message id"},
		"no time":           {importCmdOf("general", 4, []storedMsg{{ID: [16]byte{1}, User: "bob", Text: "x"}}, nil, 0), "seq 4: no time"},
		"read past the end": {importCmdOf("general", 1, log[:3], []importMember{{User: "bob", Joined: 1, Read: 4}}, 3), "read marker 4 past"},
		"another's DM":      {importCmdOf("dm.alice.bob", 1, []storedMsg{{ID: [16]byte{1}, User: "carol", TS: 9, Text: "x"}}, nil, 0), "carol may not write"},
		"seq 0":             {importCmdOf("general", 0, log[:1], nil, 0), "messages from seq 0"},
		"empty":             {importCmdOf("general", 1, nil, nil, 0), "empty batch"},
		"no body":           {roomCommand{Op: roomOpImport, Room: "general"}, "invalid import"},
	} {
		res := h.apply(tc.cmd)
		if !strings.Contains(res.reject, tc.want) {
			t.Errorf("%s: applied as %+v, want a rejection with %q", name, res, tc.want)
		}
		if v, data, err := encodeResult(res); err != nil || v != 0 || string(data) != res.reject {
			t.Errorf("%s: encoded as %d %q %v", name, v, data, err)
		}
	}
	if after := dumpDB(t, h.db); !sameDump(before, after) {
		t.Fatal("a refused import changed the state db")
	}
	// An import inside a batch of sends is not a send.
	b := h.apply(roomCommand{Op: roomOpBatch, Batch: []roomCommand{importCmdOf("general", 4, log[3:], nil, 0)}})
	if len(b.items) != 1 || b.items[0].reject != "not a send" {
		t.Fatalf("import in a batch applied as %+v", b)
	}
}

// TestImportLeavesMovedRoomsMembers: once a room has moved past the
// backup's last seq, its membership is its own.
func TestImportLeavesMovedRoomsMembers(t *testing.T) {
	h := newApplierHarness(t)
	log := backupOf(3, h.ts)
	h.apply(importCmdOf("general", 1, log, nil, 0))
	h.apply(roomCommand{Op: roomOpJoin, Room: "general", User: "carol"})
	res := h.apply(importCmdOf("general", 1, log, []importMember{{User: "alice", Joined: log[0].TS, Read: 3}}, 3))
	if res.reject != "" || res.importOut != (importOutcome{Skipped: 3, LastSeq: 4, MembersStale: true}) {
		t.Fatalf("import applied as %+v", res)
	}
	if !slices.Equal(h.members("general"), []string{"carol"}) {
		t.Fatalf("members %v", h.members("general"))
	}
}

// TestImportOldMessagesAreNotRemembered: a message older than the dedup
// window gets no dedup record, as it would have lost it by now.
func TestImportOldMessagesAreNotRemembered(t *testing.T) {
	h := newApplierHarness(t)
	h.ts += int64(2 * DedupWindow)
	log := backupOf(2, h.ts-int64(DedupWindow)-int64(time.Second))
	h.apply(importCmdOf("general", 1, log, nil, 0))
	if n := countKeys(t, h.db, expiryPrefix(h.a.shard)); n != 0 {
		t.Fatalf("%d dedup records of messages past the window", n)
	}
	if r := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: log[1].User, ID: log[1].ID, Text: "again"}); r.duplicate || r.seq != 3 {
		t.Fatalf("a resend past the window applied as %+v", r)
	}
}

// TestImportGroupingIsDeterministic applies a log of sends, joins and
// import batches (some refused) one entry per apply batch and in random
// groups: the state must come out byte for byte the same.
func TestImportGroupingIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	ts := int64(1_000_000_000)
	backup := backupOf(400, ts)
	var log [][]byte
	next := uint64(1) // the next seq of backup to import into "restored"
	for i := 0; i < 300; i++ {
		ts += int64(10 * time.Second)
		var c roomCommand
		switch r := rng.IntN(4); {
		case r == 0 && next <= uint64(len(backup)):
			// A batch from somewhat before the room's end: overlap, skip, add.
			first := max(1, int(next)-rng.IntN(5))
			end := min(len(backup), first+rng.IntN(20))
			c = importCmdOf("restored", uint64(first), backup[first-1:end], []importMember{{User: "bob", Joined: ts, Read: uint64(end)}}, uint64(end))
			next = max(next, uint64(end)+1)
		case r == 1:
			c = importCmdOf("general", uint64(1+rng.IntN(3)), backup[:2], nil, 0) // often refused
		case r == 2:
			c = roomCommand{Op: roomOpJoin, Room: []string{"general", "restored"}[rng.IntN(2)], User: "carol", ID: [16]byte{9, byte(i >> 8), byte(i)}}
		default:
			c = roomCommand{Op: roomOpSend, Room: []string{"general", "restored"}[rng.IntN(2)], User: "alice", ID: [16]byte{7, byte(i >> 8), byte(i)}, Text: "live"}
		}
		c.TS = ts
		data, err := cbor.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		log = append(log, data)
	}
	single := applyGrouped(t, log, func() int { return 1 }, nil)
	grouped := applyGrouped(t, log, func() int { return 1 + rng.IntN(30) }, nil)
	if a, b := dumpDB(t, single), dumpDB(t, grouped); len(a) == 0 || !sameDump(a, b) {
		t.Fatalf("%d keys one by one, %d grouped, or they differ", len(a), len(b))
	}
	// Imported ids reach the dedup index: a replica that rebuilds it now
	// and then decides the same.
	rebuilt := applyGrouped(t, log, func() int { return 1 + rng.IntN(30) }, newDedupIndex())
	if a, b := dumpDB(t, single), dumpDB(t, rebuilt); !sameDump(a, b) {
		t.Fatalf("%d keys one by one, %d grouped with a rebuilt dedup index, or they differ", len(a), len(b))
	}
}

func sameDump(a, b [][2][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i][0], b[i][0]) || !bytes.Equal(a[i][1], b[i][1]) {
			return false
		}
	}
	return true
}

// TestImportCopyReportsTheFirstOutcome: a copy of a named batch, applied
// after the first (a proposal made again after a leader change, or a
// client's resend), reports what the first did and writes nothing; the
// same messages under another name, or under none, are skipped.
func TestImportCopyReportsTheFirstOutcome(t *testing.T) {
	h := newApplierHarness(t)
	log := backupOf(6, h.ts)
	members := []importMember{{User: "alice", Joined: log[0].TS, Read: 6}}
	named := func(id byte, first uint64, msgs []storedMsg, members []importMember, last uint64) roomCommand {
		cmd := importCmdOf("general", first, msgs, members, last)
		cmd.Import.ID = [16]byte{0x1d, id}
		return cmd
	}
	want := importOutcome{Added: 4, LastSeq: 4}
	if res := h.apply(named(1, 1, log[:4], nil, 0)); res.importOut != want {
		t.Fatalf("first copy applied as %+v", res)
	}
	before := dumpDB(t, h.db)
	if res := h.apply(named(1, 1, log[:4], nil, 0)); res.reject != "" || res.importOut != want || res.seq != 4 || len(res.imported) != 0 {
		t.Fatalf("second copy applied as %+v, want outcome %+v", res, want)
	}
	for _, cmd := range []roomCommand{named(2, 1, log[:4], nil, 0), importCmdOf("general", 1, log[:4], nil, 0)} {
		if res := h.apply(cmd); res.importOut != (importOutcome{Skipped: 4, LastSeq: 4}) {
			t.Fatalf("the same messages under id %x applied as %+v", cmd.Import.ID, res)
		}
	}
	if after := dumpDB(t, h.db); !sameDump(before, after) {
		t.Fatal("a copy, or a batch that added nothing, changed the state db")
	}
	// The next batch takes the mark; a late copy of the first batch is
	// then only skipped, and a copy of the last one still reports it.
	last := importOutcome{Added: 2, Skipped: 1, LastSeq: 6, MembersAdded: 1}
	if res := h.apply(named(3, 4, log[3:], members, 6)); res.importOut != last {
		t.Fatalf("second batch applied as %+v", res)
	}
	if res := h.apply(named(1, 1, log[:4], nil, 0)); res.importOut != (importOutcome{Skipped: 4, LastSeq: 6}) {
		t.Fatalf("a late copy of the first batch applied as %+v", res)
	}
	if res := h.apply(named(3, 4, log[3:], members, 6)); res.importOut != last {
		t.Fatalf("a copy of the second batch applied as %+v", res)
	}
	// A refused copy is refused again: a refusal leaves no mark.
	other := slices.Clone(log[:2])
	other[1].Text = "not what the room holds"
	for range 2 {
		if res := h.apply(named(4, 1, other, nil, 0)); !strings.Contains(res.reject, "seq 2 holds another message") {
			t.Fatalf("conflicting named batch applied as %+v", res)
		}
	}
}
