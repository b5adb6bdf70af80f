package chatcore_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

func join(t *testing.T, n *chatcore.Node, room, user string) chatcore.MembershipResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.Join(ctx, room, user)
	if err != nil {
		t.Fatalf("%s joins %s: %v", user, room, err)
	}
	return res
}

func leave(t *testing.T, n *chatcore.Node, room, user string) chatcore.MembershipResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.Leave(ctx, room, user)
	if err != nil {
		t.Fatalf("%s leaves %s: %v", user, room, err)
	}
	return res
}

func members(t *testing.T, n *chatcore.Node, room, user string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	users, err := n.Members(ctx, room, user)
	if err != nil {
		t.Fatalf("members of %s: %v", room, err)
	}
	return users
}

// summary returns the local summary of room on n, as user sees it.
func summary(t *testing.T, n *chatcore.Node, room, user string) (chatcore.RoomSummary, bool) {
	t.Helper()
	sums, err := n.RoomSummaries(user)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(sums, func(s chatcore.RoomSummary) bool { return s.Name == room })
	if i < 0 {
		return chatcore.RoomSummary{}, false
	}
	return sums[i], true
}

// TestMembership joins and leaves through different nodes of a cluster and
// checks the members, the notices in the room's log on every node, the
// idempotence of both operations, and that all of it survives a restart of
// the whole cluster.
func TestMembership(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	const room = "lobby"
	steps := []struct {
		node    int
		leave   bool
		user    string
		changed bool
	}{
		{0, false, "alice", true},
		{1, false, "alice", false}, // through another node: still one member
		{2, false, "bob", true},
		{0, true, "carol", false},
		{1, false, "carol", true},
		{2, true, "alice", true},
		{0, true, "alice", false},
	}
	var seq uint64
	for i, s := range steps {
		var res chatcore.MembershipResult
		if s.leave {
			res = leave(t, c.Nodes[s.node], room, s.user)
		} else {
			res = join(t, c.Nodes[s.node], room, s.user)
		}
		if res.Changed != s.changed {
			t.Fatalf("step %d: %+v, want changed %v", i, res, s.changed)
		}
		if s.changed {
			if seq++; res.Seq != seq {
				t.Fatalf("step %d: notice at seq %d, want %d", i, res.Seq, seq)
			}
		} else if res.Seq != 0 {
			t.Fatalf("step %d: no change but a notice at %d", i, res.Seq)
		}
	}
	send(t, c.Nodes[1], room, "dave", "hello") // no membership needed
	want := []string{"bob", "carol"}
	texts := []string{"alice joined", "bob joined", "carol joined", "alice left", "hello"}
	kinds := []string{parley.KindJoin, parley.KindJoin, parley.KindJoin, parley.KindLeave, ""}
	check := func(when string) {
		t.Helper()
		checkSame(t, c, room, len(texts))
		for i, n := range c.Nodes {
			if got := members(t, n, room, reader); !slices.Equal(got, want) {
				t.Fatalf("%s: node %d: members %v, want %v", when, i+1, got, want)
			}
			msgs := history(t, n, room)
			for j, m := range msgs {
				if m.Text != texts[j] || m.Kind != kinds[j] {
					t.Fatalf("%s: node %d: seq %d is %q kind %q, want %q kind %q", when, i+1, m.Seq, m.Text, m.Kind, texts[j], kinds[j])
				}
			}
			// Summaries are local reads: poll until the replica has it.
			chatcoretest.WaitFor(t, 20*time.Second, func() error {
				s, ok := summary(t, n, room, "carol")
				if !ok || s.Members != 2 || s.LastSeq != uint64(len(texts)) || !s.Joined {
					return errors.New("summary not there yet")
				}
				if s, _ := summary(t, n, room, "alice"); s.Joined {
					return errors.New("alice, who left, still counts as joined")
				}
				return nil
			})
		}
	}
	check("before restart")

	for i := range c.Nodes {
		c.Stop(i)
	}
	for i := range c.Nodes {
		c.Restart(i)
	}
	c.WaitFormed(60 * time.Second)
	check("after restart")
	if res := join(t, c.Nodes[2], room, "bob"); res.Changed {
		t.Fatalf("bob joined again after the restart: %+v", res)
	}
}

func TestDirectMessageMembership(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1)
	n := c.Nodes[0]
	room := "dm.alice.bob"
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := n.Join(ctx, room, "carol"); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("carol joins the DM room of alice and bob: %v, want ErrForbidden", err)
	}
	if _, err := n.Send(ctx, chatcore.SendParams{Room: room, User: "carol", ID: [16]byte{1}, Text: "hi"}); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("carol writes to the DM room of alice and bob: %v, want ErrForbidden", err)
	}
	if _, err := n.Join(ctx, "dm.bob.alice", "bob"); !errors.Is(err, parley.ErrInvalid) {
		t.Fatalf("join of an unordered DM name: %v, want ErrInvalid", err)
	}
	send(t, n, room, "alice", "hi bob")
	if got := members(t, n, room, "alice"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members after the first DM: %v", got)
	}
	s, ok := summary(t, n, room, "bob")
	if !ok || !s.Joined || s.Members != 2 || s.LastSeq != 1 {
		t.Fatalf("bob's summary of the DM room: %+v %v", s, ok)
	}
}
