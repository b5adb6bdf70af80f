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

// TestDirectMessageAccess checks that chatcore itself keeps a third user
// out of another pair's direct-message room on every read and membership
// call, not only on Send and Join, and that a refused call changes nothing.
func TestDirectMessageAccess(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 1})
	n := c.Nodes[0]
	room := parley.DMRoom("bob", "alice")
	send(t, n, room, "alice", "hi bob")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	forbidden := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, parley.ErrForbidden) {
			t.Fatalf("carol %s the DM room of alice and bob: %v, want ErrForbidden", what, err)
		}
	}
	msgs, last, err := n.History(ctx, room, "carol", chatcore.HistoryQuery{From: 1})
	forbidden("reads", err)
	if msgs != nil || last != 0 {
		t.Fatalf("refused history still returned %v, last %d", msgs, last)
	}
	sub, err := n.Subscribe(room, "carol", 1)
	forbidden("follows", err)
	if sub != nil {
		t.Fatal("refused subscribe returned a subscription")
	}
	users, err := n.Members(ctx, room, "carol")
	forbidden("lists", err)
	if users != nil {
		t.Fatalf("refused members returned %v", users)
	}
	_, err = n.Join(ctx, room, "carol")
	forbidden("joins", err)
	_, err = n.Leave(ctx, room, "carol")
	forbidden("leaves", err)
	_, err = n.Send(ctx, chatcore.SendParams{Room: room, User: "carol", ID: parley.NewMsgID(time.Now()), Text: "hi"})
	forbidden("writes to", err)
	if _, ok := summary(t, n, room, "carol"); ok {
		t.Fatal("carol's room list shows the DM room of alice and bob")
	}

	// Nothing changed: the participants see one message and two members,
	// and can still read, follow and list the room.
	got, last, err := n.History(ctx, room, "bob", chatcore.HistoryQuery{From: 1})
	if err != nil || last != 1 || len(got) != 1 || got[0].Text != "hi bob" {
		t.Fatalf("bob's history: %v, last %d, err %v", got, last, err)
	}
	if got := members(t, n, room, "bob"); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Fatalf("members: %v, want alice and bob", got)
	}
	s, ok := summary(t, n, room, "alice")
	if !ok || !s.DM || s.Members != 2 || s.LastSeq != 1 {
		t.Fatalf("alice's summary of the DM room: %+v %v", s, ok)
	}
	sub, err = n.Subscribe(room, "bob", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got, err := sub.Next(ctx, 10); err != nil || len(got) != 1 || got[0].Seq != 1 {
		t.Fatalf("bob follows the DM room: %v, %v", got, err)
	}
}

// TestReadNeedsValidUser checks that the read calls refuse a missing or
// malformed user with ErrInvalid instead of reading as nobody.
func TestReadNeedsValidUser(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 1})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, user := range []string{"", "Not A User"} {
		if _, _, err := n.History(ctx, "general", user, chatcore.HistoryQuery{}); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("history as %q: %v, want ErrInvalid", user, err)
		}
		if _, err := n.Subscribe("general", user, 0); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("subscribe as %q: %v, want ErrInvalid", user, err)
		}
		if _, err := n.Members(ctx, "general", user); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("members as %q: %v, want ErrInvalid", user, err)
		}
		if _, err := n.RoomSummaries(user); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("rooms as %q: %v, want ErrInvalid", user, err)
		}
	}
}
