package e2e

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// TestHistoryMinSeq: a history read with MinSeq waits, on a node that did
// not take the send, until that node has applied the seq; and one for a
// seq that never comes fails as unavailable when its deadline passes.
// Before, the node ignored MinSeq and answered at once without it.
func TestHistoryMinSeq(t *testing.T) {
	c := sharedCluster(t)
	const room = "minseq"
	writer := c.Dial(t, "wanda", c.Nodes[0].Client)
	reader := c.Dial(t, "rita", c.Nodes[2].Client)
	ctx, cancel := opContext()
	defer cancel()
	first, err := writer.Send(ctx, room, "first")
	if err != nil {
		t.Fatal(err)
	}

	type result struct {
		msgs []parley.Message
		err  error
	}
	got := make(chan result, 1)
	go func() {
		msgs, err := reader.History(ctx, room, client.HistoryOptions{From: first.Seq, MinSeq: first.Seq + 1})
		got <- result{msgs, err}
	}()
	// Nothing can satisfy the read until the second send: it must still
	// be waiting a moment later (a node that ignores MinSeq answers at
	// once).
	select {
	case r := <-got:
		t.Fatalf("history with MinSeq %d answered before that seq existed: %+v, %v", first.Seq+1, r.msgs, r.err)
	case <-time.After(time.Second):
	}
	second, err := writer.Send(ctx, room, "second")
	if err != nil {
		t.Fatal(err)
	}
	r := <-got
	if r.err != nil {
		t.Fatalf("history with MinSeq %d: %v", second.Seq, r.err)
	}
	if len(r.msgs) < 2 || r.msgs[len(r.msgs)-1].Seq < second.Seq {
		t.Fatalf("history with MinSeq %d returned %+v, without that seq", second.Seq, r.msgs)
	}

	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	_, err = reader.History(short, room, client.HistoryOptions{MinSeq: second.Seq + 1000})
	if !errors.Is(err, parley.ErrUnavailable) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("history with a seq that never comes: %v, want unavailable or the deadline", err)
	}
}
