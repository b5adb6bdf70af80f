package client

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// TestRoomsWhoDirectMessage drives the room methods against a one-node
// cluster.
func TestRoomsWhoDirectMessage(t *testing.T) {
	cl := startCluster(t, 1)
	alice := dial(t, options(t, cl.Addr(0)))
	bobOpts := options(t, cl.Addr(0))
	bobOpts.User = "bob"
	bob := dial(t, bobOpts)
	ctx := testCtx(t)
	if alice.User() != "alice" || bob.User() != "bob" {
		t.Fatalf("users %q and %q", alice.User(), bob.User())
	}

	if err := alice.Join(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if err := alice.Join(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Join(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Leave(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if err := bob.Leave(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	msgs, err := alice.History(ctx, "general", HistoryOptions{From: 1})
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	for _, m := range msgs {
		log = append(log, fmt.Sprintf("%d %s %s %s", m.Seq, m.User, m.Kind, m.Text))
	}
	want := []string{"1 alice join alice joined", "2 bob join bob joined", "3 bob leave bob left"}
	if !slices.Equal(log, want) {
		t.Fatalf("general's log:\n%q\nwant\n%q", log, want)
	}

	members, err := bob.Who(ctx, "general")
	if err != nil || !slices.Equal(members, []transport.Member{{User: "alice", Online: true}}) {
		t.Fatalf("who of general: %+v %v", members, err)
	}

	r, err := bob.DirectMessage(ctx, "alice", "hi")
	if err != nil || r.Room != "dm.alice.bob" || r.Seq != 1 {
		t.Fatalf("bob writes to alice: %+v %v", r, err)
	}
	waitFor(t, 20*time.Second, func() error {
		rooms, err := alice.Rooms(ctx)
		if err != nil {
			return err
		}
		// alice has read up to her own join: bob's join, bob's leave and
		// bob's direct message are unread.
		want := []transport.RoomInfo{
			{Name: "dm.alice.bob", Members: 2, LastSeq: 1, Joined: true, DM: true, Unread: 1},
			{Name: "general", Members: 1, LastSeq: 3, Joined: true, Unread: 2},
		}
		if !slices.Equal(rooms, want) {
			return fmt.Errorf("alice's rooms %+v, want %+v", rooms, want)
		}
		return nil
	})
	// Read markers move forward only, and stop at the room's end.
	for _, c := range []struct{ seq, want uint64 }{{2, 2}, {1, 2}, {99, 3}} {
		if got, err := alice.MarkRead(ctx, "general", c.seq); err != nil || got != c.want {
			t.Fatalf("mark general read to %d: %d %v, want %d", c.seq, got, err, c.want)
		}
	}
	if _, err := bob.MarkRead(ctx, "dm.alice.carol", 1); transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("bob marks another's direct messages read: %v, want forbidden", err)
	}
	waitFor(t, 20*time.Second, func() error {
		rooms, err := alice.Rooms(ctx)
		if err != nil {
			return err
		}
		if i := slices.IndexFunc(rooms, func(r transport.RoomInfo) bool { return r.Name == "general" }); i < 0 || rooms[i].Unread != 0 {
			return fmt.Errorf("alice's rooms after reading general: %+v", rooms)
		}
		return nil
	})

	for name, err := range map[string]error{
		"join":       alice.Join(ctx, ""),
		"leave":      alice.Leave(ctx, ""),
		"who":        second(alice.Who(ctx, "")),
		"dm to self": second(alice.DirectMessage(ctx, "alice", "me")),
		"dm to A.B":  second(alice.DirectMessage(ctx, "A.B", "hi")),
		"bad room":   alice.Join(ctx, "No Caps"),
	} {
		if transport.CodeOf(err) != transport.CodeInvalid {
			t.Errorf("%s: %v, want invalid", name, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestJoinReplyLost: a node commits a join but its reply never arrives.
// The Client gives the node up and joins again on another node: the join
// changes nothing the second time, so the room holds one notice.
func TestJoinReplyLost(t *testing.T) {
	cl := startCluster(t, 3)
	fn := installFaultNet(t)
	c := dial(t, options(t, cl.Addr(0)))
	ctx := testCtx(t)
	send(t, c, "general", 1)
	victim := c.Node().Addr
	fn.cut(victim, dropReplies)
	if err := c.Join(ctx, "general"); err != nil {
		t.Fatal(err)
	}
	if c.Node().Addr == victim {
		t.Fatalf("still connected to %s", victim)
	}
	msgs, err := c.History(ctx, "general", HistoryOptions{From: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[1].Kind != parley.KindJoin || msgs[1].Text != "alice joined" {
		t.Fatalf("general's log after a join whose reply was lost: %+v", msgs)
	}
	members, err := c.Who(ctx, "general")
	if err != nil || len(members) != 1 || members[0].User != "alice" {
		t.Fatalf("who: %+v %v", members, err)
	}
}
