package main

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

func testView(t *testing.T) (*view, *strings.Builder) {
	var out strings.Builder
	seen, err := loadSeen("", "alice")
	if err != nil {
		t.Fatal(err)
	}
	v := newView("alice", &screen{w: &out}, seen, newCompleter())
	v.loc = time.UTC
	return v, &out
}

func msg(room string, seq uint64, user, text string) parley.Message {
	return parley.Message{Room: room, Seq: seq, User: user, Text: text, TS: time.Date(2025, 1, 2, 15, 4, 5, 0, time.UTC)}
}

func TestViewShowsEachMessageOnce(t *testing.T) {
	v, out := testView(t)
	v.setRoom("general")
	v.show(msg("general", 1, "bob", "one"))
	v.show(msg("general", 2, "bob", "two"))
	v.show(msg("general", 1, "bob", "one")) // a room switch's replay
	v.show(msg("random", 1, "carol", "elsewhere"))
	v.addDM("dm.alice.bob", "bob")
	v.show(msg("dm.alice.bob", 1, "bob", "psst"))
	v.show(msg("dm.alice.bob", 1, "bob", "psst"))
	want := "[15:04:05] <bob> one\n[15:04:05] <bob> two\n[15:04:05] [dm bob] <bob> psst\n"
	if out.String() != want {
		t.Fatalf("shown:\n%s\nwant:\n%s", out.String(), want)
	}
	if v.seen.get("general") != 2 || v.seen.get("random") != 0 || v.seen.get("dm.alice.bob") != 1 {
		t.Fatalf("seen: %v", v.seen.rooms)
	}
	if v.lastPrinted("general") != 2 {
		t.Fatalf("last printed %d", v.lastPrinted("general"))
	}
	if _, users, _ := v.comp.complete("", 0); len(users) != 1 || users[0] != "bob " {
		t.Fatalf("senders not offered to Tab: %q", users)
	}
	// Back in random, its messages show; general's no longer do.
	v.setRoom("random")
	out.Reset()
	v.show(msg("general", 3, "bob", "three"))
	v.show(msg("random", 1, "carol", "elsewhere"))
	if out.String() != "[15:04:05] <carol> elsewhere\n" {
		t.Fatalf("after the switch: %q", out.String())
	}
}

func TestFormatChat(t *testing.T) {
	m := msg("general", 3, "bob", "hi\x1b[2Jthere")
	if got := formatChat(colorNone, time.UTC, m, ""); got != `[15:04:05] <bob> hi\x1b[2Jthere` {
		t.Errorf("plain: %q", got)
	}
	if got := formatChat(colorNone, time.UTC, m, "bob"); got != `[15:04:05] [dm bob] <bob> hi\x1b[2Jthere` {
		t.Errorf("dm: %q", got)
	}
	join := msg("general", 4, "alice", "alice joined")
	join.Kind = parley.KindJoin
	if got := formatChat(colorNone, time.UTC, join, ""); got != "[15:04:05] * alice joined" {
		t.Errorf("join: %q", got)
	}
	join.Kind = parley.KindLeave
	if got := formatChat(colorBasic, time.UTC, join, ""); got != "\x1b[2m[15:04:05] * alice left\x1b[0m" {
		t.Errorf("leave: %q", got)
	}
	if got := formatChat(colorBasic, time.UTC, m, ""); !strings.Contains(got, "<\x1b["+nameColor(colorBasic, "bob")+"mbob\x1b[0m>") {
		t.Errorf("coloured: %q", got)
	}
}

func TestDMPeer(t *testing.T) {
	cases := []struct{ room, me, want string }{
		{"dm.alice.bob", "alice", "bob"},
		{"dm.alice.bob", "bob", "alice"},
		{"dm.alice.bob", "carol", ""},
		{"dm.bob.alice", "alice", ""}, // not sorted: not a DM room
		{"general", "alice", ""},
		{parley.DMRoom("zoe", "al-1"), "zoe", "al-1"},
	}
	for _, c := range cases {
		if got := dmPeer(c.room, c.me); got != c.want {
			t.Errorf("dmPeer(%q, %q) = %q, want %q", c.room, c.me, got, c.want)
		}
	}
}

func TestRoomsTable(t *testing.T) {
	rooms := []transport.RoomInfo{
		{Name: "dm.alice.bob", Members: 2, LastSeq: 4, Joined: true, DM: true},
		{Name: "general", Members: 3, LastSeq: 42, Joined: true, Unread: 2},
		{Name: "random", Members: 1, LastSeq: 7},
	}
	seen := map[string]uint64{"general": 40, "dm.alice.bob": 4, "random": 9}
	got := strings.Join(roomsTable(rooms, "general", "alice", func(r string) uint64 { return seen[r] }), "\n")
	want := `ROOM          MEMBERS  UNREAD
dm.alice.bob  2        0       direct messages with bob
general       3        2       current, joined
random        1        0`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
	if got := roomsTable(nil, "", "alice", func(string) uint64 { return 0 }); len(got) != 1 {
		t.Fatalf("no rooms: %q", got)
	}
}

func TestWhoLines(t *testing.T) {
	got := strings.Join(whoLines(colorNone, "general", []transport.Member{
		{User: "zed", Online: true}, {User: "amy"}, {User: "bob", Online: true},
	}), "\n")
	want := "general: 3 members, 2 online\n  bob online\n  zed online\n  amy offline"
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestStatusLines(t *testing.T) {
	st := transport.StatusResponse{
		Nodes: []transport.NodeInfo{
			{ID: 1, Name: "n1", Addr: "10.0.0.1:7400", Up: true, Voters: 2, Leaders: 1},
			{ID: 2, Name: "n2", Addr: "10.0.0.2:7400", State: "draining", Voters: 1},
			{ID: 3, Name: "n3", Addr: "10.0.0.3:7400", Up: true, Voters: 1},
		},
		Shards: []transport.ShardStatus{
			{ID: 1, Leader: 3, Term: 7, Replicas: []uint64{1, 2, 3}},
			{ID: 2, Term: 2, Replicas: []uint64{1, 2, 3}},
			{ID: 4, Leader: 1, Term: 2, Replicas: []uint64{1, 2}, NonVoting: []uint64{3}, Wanted: []uint64{1, 3}},
		},
	}
	got := strings.Join(statusLines(st, 3), "\n")
	want := `NODE  NAME  ADDR           STATE           VOTERS  LEADS
1     n1    10.0.0.1:7400  up              2       1
2     n2    10.0.0.2:7400  down, draining  1       0
3     n3    10.0.0.3:7400  up (connected)  1       0

SHARD  LEADER  TERM  REPLICAS
1      node 3  7     1,2,3
2      none    2     1,2,3
4      node 1  2     1,2 (non-voting 3) moving to 1,3`
	if got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}
