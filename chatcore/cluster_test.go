package chatcore_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

func send(t *testing.T, n *chatcore.Node, room, user, text string) chatcore.SendResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := n.Send(ctx, chatcore.SendParams{Room: room, User: user, ID: parley.NewMsgID(time.Now()), Text: text})
	if err != nil {
		t.Fatalf("send %q: %v", text, err)
	}
	return res
}

// reader is the user the tests read public rooms as.
const reader = "reader"

func history(t *testing.T, n *chatcore.Node, room string) []parley.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, _, err := n.History(ctx, room, reader, chatcore.HistoryQuery{From: 1})
	if err != nil {
		t.Fatalf("history %s: %v", room, err)
	}
	return msgs
}

// checkSame asserts that every node holds the same gapless history of room.
func checkSame(t *testing.T, c *chatcoretest.Cluster, room string, want int) {
	t.Helper()
	var ref []parley.Message
	for i, n := range c.Nodes {
		if n == nil {
			continue
		}
		got := history(t, n, room)
		if len(got) != want {
			t.Fatalf("node %d: %s has %d messages, want %d", i+1, room, len(got), want)
		}
		for j, m := range got {
			if m.Seq != uint64(j+1) {
				t.Fatalf("node %d: %s: position %d has seq %d", i+1, room, j, m.Seq)
			}
		}
		if ref == nil {
			ref = got
			continue
		}
		for j := range got {
			if got[j] != ref[j] {
				t.Fatalf("node %d: %s seq %d differs: %+v vs %+v", i+1, room, j+1, got[j], ref[j])
			}
		}
	}
}

func TestClusterSendHistoryEveryNode(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	for i := 0; i < 30; i++ {
		n := c.Nodes[i%3]
		res := send(t, n, fmt.Sprintf("room-%d", i%4), "alice", fmt.Sprintf("m%d", i))
		if res.Seq == 0 || res.Duplicate {
			t.Fatalf("send %d: %+v", i, res)
		}
	}
	for r := 0; r < 4; r++ {
		checkSame(t, c, fmt.Sprintf("room-%d", r), 30/4+map[bool]int{true: 1, false: 0}[r < 30%4])
	}
}

func TestRetriedSendReturnsOriginalSeq(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id := parley.NewMsgID(time.Now())
	p := chatcore.SendParams{Room: "general", User: "bob", ID: id, Text: "once"}
	first, err := c.Nodes[0].Send(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	send(t, c.Nodes[1], "general", "bob", "other")
	again, err := c.Nodes[2].Send(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || again.Seq != first.Seq || again.TS != first.TS {
		t.Fatalf("retry: got %+v, first %+v", again, first)
	}
	checkSame(t, c, "general", 2)
}

func TestSubscribeFromSeqWhileSending(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	for i := 1; i <= 20; i++ {
		send(t, c.Nodes[0], "busy", "alice", fmt.Sprintf("early %d", i))
	}
	const from, total = 7, 120
	sub, err := c.Nodes[2].Subscribe("busy", reader, from)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < (total-20)/4; i++ {
				send(t, c.Nodes[w%3], "busy", "bob", fmt.Sprintf("w%d %d", w, i))
			}
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	next := uint64(from)
	for next <= total {
		msgs, err := sub.Next(ctx, 7)
		if err != nil {
			t.Fatalf("next at %d: %v", next, err)
		}
		for _, m := range msgs {
			if m.Seq != next {
				t.Fatalf("got seq %d, want %d", m.Seq, next)
			}
			next++
		}
	}
	wg.Wait()
	checkSame(t, c, "busy", total)
}

func TestBadInputChangesNothing(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 2})
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	send(t, n, "ok", "alice", "first")
	id := parley.NewMsgID(time.Now())
	big := make([]byte, parley.MaxTextBytes+1)
	for i := range big {
		big[i] = 'x'
	}
	cases := []chatcore.SendParams{
		{Room: "", User: "alice", ID: id, Text: "x"},
		{Room: string(make([]byte, 65)), User: "alice", ID: id, Text: "x"},
		{Room: "Bad Room", User: "alice", ID: id, Text: "x"},
		{Room: "ok", User: "", ID: id, Text: "x"},
		{Room: "ok", User: "alice", ID: id, Text: ""},
		{Room: "ok", User: "alice", ID: id, Text: string(big)},
		{Room: "ok", User: "alice", ID: id, Text: "\xff\xfe"},
		{Room: "ok", User: "alice", Text: "zero id"},
	}
	for _, p := range cases {
		if _, err := n.Send(ctx, p); err == nil {
			t.Errorf("send %+v: no error", p.Room)
		}
	}
	checkSame(t, c, "ok", 1)
	if err := n.Login(ctx, "carol", "secret"); err != nil {
		t.Fatalf("first login claims: %v", err)
	}
	if err := n.Login(ctx, "carol", "wrong"); err == nil {
		t.Fatal("wrong password accepted")
	}
	if err := n.Login(ctx, "carol", "secret"); err != nil {
		t.Fatalf("right password refused: %v", err)
	}
}

func TestRestartKeepsEverything(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	for i := 0; i < 10; i++ {
		send(t, c.Nodes[i%3], "keep", "alice", fmt.Sprintf("m%d", i))
	}
	for i := range c.Nodes {
		c.Stop(i)
	}
	for i := range c.Nodes {
		c.Restart(i)
	}
	c.WaitFormed(60 * time.Second)
	checkSame(t, c, "keep", 10)
	send(t, c.Nodes[1], "keep", "alice", "after restart")
	checkSame(t, c, "keep", 11)
}

func TestRestartPublishesNewClientAddr(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 2})
	c.Stop(0)
	c.Cfgs[0].ClientAddr = "127.0.0.1:19999"
	c.Restart(0)
	chatcoretest.WaitFor(t, 20*time.Second, func() error {
		nodes, err := c.Nodes[0].Nodes()
		if err != nil {
			return err
		}
		if len(nodes) != 1 || nodes[0].ClientAddr != "127.0.0.1:19999" {
			return fmt.Errorf("registry has %+v", nodes)
		}
		return nil
	})
}

func TestHistoryOfLargeMessagesFitsAFrame(t *testing.T) {
	c := chatcoretest.StartCluster(t, 1, chatcoretest.Options{Shards: 1})
	big := strings.Repeat("z", parley.MaxTextBytes)
	for i := 0; i < 70; i++ {
		send(t, c.Nodes[0], "big", "alice", big)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, q := range []chatcore.HistoryQuery{{From: 1}, {Last: 70}} {
		msgs, last, err := c.Nodes[0].History(ctx, "big", reader, q)
		if err != nil {
			t.Fatal(err)
		}
		if last != 70 || len(msgs) == 0 || len(msgs) >= 70 || len(msgs)*parley.MaxTextBytes > 600<<10 {
			t.Fatalf("%+v: %d messages, last %d: want a byte-bounded page", q, len(msgs), last)
		}
		if q.Last > 0 && msgs[len(msgs)-1].Seq != 70 || q.From > 0 && msgs[0].Seq != 1 {
			t.Fatalf("%+v: page %d..%d is at the wrong end", q, msgs[0].Seq, msgs[len(msgs)-1].Seq)
		}
	}
}
