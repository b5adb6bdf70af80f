package chatcore_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// WaitApplied waits for a seq that is not there yet, on another node than
// the one that commits it, and gives up with ErrUnavailable when its
// context ends.
func TestWaitApplied(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const room = "ryw"
	send := func(n *chatcore.Node, text string) chatcore.SendResult {
		t.Helper()
		r, err := n.Send(ctx, chatcore.SendParams{Room: room, User: "ann", ID: parley.NewMsgID(time.Now()), Text: text})
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	first := send(c.Nodes[0], "one")
	if err := c.Nodes[2].WaitApplied(ctx, room, "ann", first.Seq); err != nil {
		t.Fatalf("wait for an acknowledged seq: %v", err)
	}

	done := make(chan error, 1)
	go func() { done <- c.Nodes[2].WaitApplied(ctx, room, "ann", first.Seq+1) }()
	select {
	case err := <-done:
		t.Fatalf("wait for seq %d returned before it was sent: %v", first.Seq+1, err)
	default:
	}
	second := send(c.Nodes[0], "two")
	if err := <-done; err != nil {
		t.Fatalf("wait for seq %d: %v", second.Seq, err)
	}
	msgs, _, err := c.Nodes[2].History(ctx, room, "ann", chatcore.HistoryQuery{From: second.Seq})
	if err != nil || len(msgs) != 1 || msgs[0].Text != "two" {
		t.Fatalf("history after the wait: %+v, %v", msgs, err)
	}

	if err := c.Nodes[1].WaitApplied(ctx, parley.DMRoom("bob", "cat"), "ann", 1); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("wait on another pair's direct-message room: %v, want ErrForbidden", err)
	}

	short, cancelShort := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancelShort()
	if err := c.Nodes[1].WaitApplied(short, room, "ann", second.Seq+100); !errors.Is(err, parley.ErrUnavailable) {
		t.Fatalf("wait for a seq that never comes: %v, want ErrUnavailable", err)
	}
}
