package chatcore

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/cockroachdb/pebble"
	"github.com/cockroachdb/pebble/vfs"
	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/placement"
)

// applierHarness drives a room applier over an in-memory pebble database,
// one entry per batch, the way diskSM does, without dragonboat.
type applierHarness struct {
	t     *testing.T
	db    *pebble.DB
	a     roomApplier
	index uint64
	ts    int64
}

func newApplierHarness(t *testing.T) *applierHarness {
	db, err := pebble.Open("", &pebble.Options{FS: vfs.NewMem()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &applierHarness{t: t, db: db, a: roomApplier{shard: placement.RoomShards(1)[0], ids: newDedupIndex()}, ts: 1_000_000_000}
}

// apply applies one command with the next index and a later stamp.
func (h *applierHarness) apply(cmd roomCommand) applyResult {
	h.t.Helper()
	h.index++
	h.ts += 1000
	cmd.TS = h.ts
	if cmd.ID == ([16]byte{}) {
		cmd.ID = [16]byte{byte(h.index >> 8), byte(h.index), 1}
	}
	data, err := cbor.Marshal(cmd)
	if err != nil {
		h.t.Fatal(err)
	}
	b := h.db.NewBatch()
	defer b.Close()
	tx := newRoomTx(h.db, b, h.a.shard, nil)
	res, err := h.a.applyEntry(tx, data)
	if err == nil {
		err = tx.flush()
	}
	if err != nil {
		h.t.Fatalf("apply %+v: %v", cmd, err)
	}
	if err := b.Commit(pebble.NoSync); err != nil {
		h.t.Fatal(err)
	}
	tx.dedup.commitTo(h.a.ids)
	return res
}

func (h *applierHarness) meta(room string) roomMeta {
	h.t.Helper()
	var m roomMeta
	if _, err := getCBOR(h.db, metaKey(h.a.shard, room), &m); err != nil {
		h.t.Fatal(err)
	}
	return m
}

func (h *applierHarness) members(room string) []string {
	h.t.Helper()
	users, err := readMembers(h.db, h.a.shard, room)
	if err != nil {
		h.t.Fatal(err)
	}
	return users
}

func (h *applierHarness) messages(room string) []parley.Message {
	h.t.Helper()
	last := h.meta(room).LastSeq
	if last == 0 {
		return nil
	}
	msgs, err := readMessages(h.db, h.a.shard, room, 1, last)
	if err != nil {
		h.t.Fatal(err)
	}
	return msgs
}

func TestApplyJoinLeave(t *testing.T) {
	h := newApplierHarness(t)
	steps := []struct {
		op      uint8
		user    string
		changed bool
		seq     uint64
	}{
		{roomOpJoin, "alice", true, 1},
		{roomOpJoin, "alice", false, 0}, // a member already: nothing
		{roomOpJoin, "bob", true, 2},
		{roomOpLeave, "carol", false, 0}, // not a member: nothing
		{roomOpLeave, "alice", true, 3},
		{roomOpLeave, "alice", false, 0},
		{roomOpJoin, "alice", true, 4}, // back again
	}
	for i, s := range steps {
		res := h.apply(roomCommand{Op: s.op, Room: "general", User: s.user})
		if res.reject != "" || res.changed != s.changed || res.seq != s.seq || (res.msg != nil) != s.changed {
			t.Fatalf("step %d (%d %s): %+v, want changed %v seq %d", i, s.op, s.user, res, s.changed, s.seq)
		}
		v, data, err := encodeResult(res)
		if err != nil || v != 1 || len(data) != 9 || (data[0] == 1) != s.changed {
			t.Fatalf("step %d: encoded %d %x", i, v, data)
		}
	}
	if got := h.members("general"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members %v", got)
	}
	if m := h.meta("general"); m.Members != 2 || m.LastSeq != 4 || m.Created == 0 {
		t.Fatalf("meta %+v", m)
	}
	want := []struct{ user, kind, text string }{
		{"alice", parley.KindJoin, "alice joined"},
		{"bob", parley.KindJoin, "bob joined"},
		{"alice", parley.KindLeave, "alice left"},
		{"alice", parley.KindJoin, "alice joined"},
	}
	msgs := h.messages("general")
	if len(msgs) != len(want) {
		t.Fatalf("%d messages, want %d: %+v", len(msgs), len(want), msgs)
	}
	for i, w := range want {
		m := msgs[i]
		if m.Seq != uint64(i+1) || m.User != w.user || m.Kind != w.kind || m.Text != w.text || m.ID == ([16]byte{}) || m.TS.UnixNano() == 0 {
			t.Errorf("message %d: %+v, want %+v", i+1, m, w)
		}
	}
	// A chat message after the notices takes the next seq and has no kind.
	res := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "carol", Text: "hi"})
	if res.seq != 5 || res.msg == nil || res.msg.Kind != "" {
		t.Fatalf("send after notices: %+v", res)
	}
	if m := h.meta("general"); m.Members != 2 {
		t.Fatalf("sending made carol a member of a public room: %+v", m)
	}
}

// TestApplyRepeatedJoinLeave applies copies of a join and of a leave, as a
// proposal retried after a lost answer does: each copy reports the first
// copy's change and notice, and changes nothing.
func TestApplyRepeatedJoinLeave(t *testing.T) {
	h := newApplierHarness(t)
	join := roomCommand{Op: roomOpJoin, Room: "general", User: "alice", ID: [16]byte{7, 1}}
	leave := roomCommand{Op: roomOpLeave, Room: "general", User: "alice", ID: [16]byte{7, 2}}
	steps := []struct {
		cmd       roomCommand
		seq       uint64
		duplicate bool
	}{
		{join, 1, false},
		{join, 1, true},
		{leave, 2, false},
		{join, 1, true}, // a late copy of the join does not make alice a member again
		{leave, 2, true},
	}
	for i, s := range steps {
		res := h.apply(s.cmd)
		if res.reject != "" || !res.changed || res.seq != s.seq || res.duplicate != s.duplicate || (res.msg == nil) != s.duplicate {
			t.Fatalf("step %d: %+v, want a change at seq %d, duplicate %v", i, res, s.seq, s.duplicate)
		}
		v, data, err := encodeResult(res)
		if err != nil || v != 1 || len(data) != 9 || data[0] != 1 || binary.BigEndian.Uint64(data[1:]) != s.seq {
			t.Fatalf("step %d: encoded %d %x", i, v, data)
		}
	}
	if got := h.members("general"); len(got) != 0 {
		t.Fatalf("members %v, want none", got)
	}
	if m := h.meta("general"); m.Members != 0 || m.LastSeq != 2 {
		t.Fatalf("meta %+v", m)
	}
	// A send with a notice's id is a copy too: ids are one namespace.
	if res := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "alice", ID: join.ID, Text: "hi"}); !res.duplicate || res.seq != 1 {
		t.Fatalf("send with the join's id: %+v", res)
	}
	// A join that changed nothing leaves no record: its copy is judged anew.
	h.apply(roomCommand{Op: roomOpJoin, Room: "general", User: "bob", ID: [16]byte{7, 3}})
	noop := roomCommand{Op: roomOpJoin, Room: "general", User: "bob", ID: [16]byte{7, 4}}
	for i := range 2 {
		if res := h.apply(noop); res.changed || res.duplicate || res.seq != 0 {
			t.Fatalf("no-op join, copy %d: %+v", i, res)
		}
	}
}

func TestApplyDirectMessages(t *testing.T) {
	h := newApplierHarness(t)
	room := "dm.alice.bob"
	res := h.apply(roomCommand{Op: roomOpSend, Room: room, User: "bob", Text: "psst"})
	if res.reject != "" || res.seq != 1 {
		t.Fatalf("first DM: %+v", res)
	}
	// The first message makes both participants members, without notices.
	if got := h.members(room); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members after the first DM: %v", got)
	}
	if m := h.meta(room); m.Members != 2 || m.LastSeq != 1 {
		t.Fatalf("meta %+v", m)
	}
	if res := h.apply(roomCommand{Op: roomOpJoin, Room: room, User: "alice"}); res.changed {
		t.Fatalf("alice joined a DM room she is a member of: %+v", res)
	}
	// A leave is a leave; the next message brings the leaver back.
	if res := h.apply(roomCommand{Op: roomOpLeave, Room: room, User: "alice"}); !res.changed || res.seq != 2 {
		t.Fatalf("alice leaves: %+v", res)
	}
	h.apply(roomCommand{Op: roomOpSend, Room: room, User: "bob", Text: "come back"})
	if got := h.members(room); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members after another DM: %v", got)
	}
	// Nobody else gets in, whatever the proposer checked.
	for _, cmd := range []roomCommand{
		{Op: roomOpSend, Room: room, User: "carol", Text: "let me in"},
		{Op: roomOpJoin, Room: room, User: "carol"},
		{Op: roomOpSend, Room: "dm.bob.alice", User: "bob", Text: "unordered"},
		{Op: roomOpJoin, Room: "dm.alice", User: "alice"},
		{Op: roomOpJoin, Room: "general", User: "a.b"},
	} {
		if res := h.apply(cmd); res.reject == "" {
			t.Errorf("%+v: applied as %+v, want a rejection", cmd, res)
		}
	}
	if m := h.meta(room); m.Members != 2 || m.LastSeq != 3 {
		t.Fatalf("meta after rejections %+v", m)
	}
}
