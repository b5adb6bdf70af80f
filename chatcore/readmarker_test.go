package chatcore

import "testing"

// TestApplyReadMarker checks the read marker's rules: it starts at the
// member's join notice, moves only forward, stops at the room's last seq,
// and a non-member has none.
func TestApplyReadMarker(t *testing.T) {
	h := newApplierHarness(t)
	marker := func(user string) (uint64, bool) {
		var rec memberRecord
		found, err := getCBOR(h.db, memberKey(h.a.shard, "general", user), &rec)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Read, found
	}
	h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "bob", Text: "before"})
	h.apply(roomCommand{Op: roomOpJoin, Room: "general", User: "alice"})
	if m, _ := marker("alice"); m != 2 {
		t.Fatalf("marker after the join at seq 2: %d", m)
	}
	for range 3 {
		h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "bob", Text: "hi"})
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "alice", Seq: 4}); !r.changed || r.seq != 4 {
		t.Fatalf("read to 4: %+v", r)
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "alice", Seq: 3}); r.changed || r.seq != 4 {
		t.Fatalf("a marker moved back: %+v", r)
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "alice", Seq: 99}); r.seq != 5 {
		t.Fatalf("read past the end: %+v, want capped at 5", r)
	}
	if m, _ := marker("alice"); m != 5 {
		t.Fatalf("marker %d, want 5", m)
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "carol", Seq: 2}); r.changed {
		t.Fatalf("a non-member got a marker: %+v", r)
	}
	if _, found := marker("carol"); found {
		t.Fatal("a read marker made carol a member")
	}
	if r := h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "alice"}); r.reject == "" {
		t.Fatalf("seq 0 not rejected: %+v", r)
	}
	before := h.meta("general")
	h.apply(roomCommand{Op: roomOpRead, Room: "general", User: "alice", Seq: 5})
	if h.meta("general") != before {
		t.Fatal("a read marker changed the room's meta")
	}
}
