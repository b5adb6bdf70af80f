package chatcore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
)

// TestImportOnCluster imports a room and a direct-message room into a
// three-node cluster in batches, as an admin: every replica holds them
// with their seqs, ids and times, a subscriber sees them, BackupRead gives
// them back field by field, a second import changes nothing, a conflicting
// one is refused, and sends go on after the imported seqs.
func TestImportOnCluster(t *testing.T) {
	c := chatcoretest.StartCluster(t, 3)
	n := c.Nodes[0]
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, u := range []string{"root", "alice"} {
		if err := n.Login(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now().Add(-time.Minute).Truncate(time.Millisecond) // within the dedup window
	backup := func(room string, count int, users ...string) []parley.Message {
		out := make([]parley.Message, count)
		for i := range out {
			ts := start.Add(time.Duration(i) * time.Millisecond)
			out[i] = parley.Message{Room: room, Seq: uint64(i + 1), ID: parley.NewMsgID(ts), User: users[i%len(users)], TS: ts.UTC(), Text: fmt.Sprintf("%s %d", room, i+1)}
		}
		out[0].Kind, out[0].Text = parley.KindJoin, users[0]+" joined"
		return out
	}
	rooms := map[string][]parley.Message{
		"restored":     backup("restored", 2500, "alice", "bob"),
		"dm.alice.bob": backup("dm.alice.bob", 30, "bob", "alice"),
	}
	members := []chatcore.RoomMember{{User: "alice", Joined: start, Read: 7}, {User: "bob", Joined: start, Read: 30}}
	sub, err := c.Nodes[2].Subscribe("restored", "reader", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	// batch builds the i-th batch of room, named id.
	batch := func(room string, i int, id parley.MsgID) chatcore.ImportBatch {
		msgs := rooms[room]
		b := chatcore.ImportBatch{Room: room, Creator: "alice", Created: start, Messages: msgs[i:min(len(msgs), i+chatcore.MaxImportMessages)], LastSeq: uint64(len(msgs)), ID: id}
		if i+chatcore.MaxImportMessages >= len(msgs) {
			b.Members = members
		}
		return b
	}
	importAll := func(by string) (added, skipped int, err error) {
		for room, msgs := range rooms {
			for i := 0; i < len(msgs); i += chatcore.MaxImportMessages {
				res, err := c.Nodes[1].Import(ctx, by, batch(room, i, parley.MsgID{}))
				if err != nil {
					return added, skipped, err
				}
				added, skipped = added+res.Added, skipped+res.Skipped
			}
		}
		return added, skipped, nil
	}
	if _, _, err := importAll("alice"); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("import by a user who is not an admin: %v", err)
	}
	// Exact, even if the proposer proposes a batch again after a leader
	// change: the copy that finds the first one applied reports its outcome.
	if added, skipped, err := importAll("root"); err != nil || added != 2530 || skipped != 0 {
		t.Fatalf("import: %d added, %d skipped, %v", added, skipped, err)
	}
	// Every replica holds the very same messages.
	for room, want := range rooms {
		for i, node := range c.Nodes {
			var got []parley.Message
			for from := uint64(1); from <= uint64(len(want)); {
				page, err := node.BackupRead(ctx, "root", room, chatcore.BackupQuery{From: from})
				if err != nil {
					t.Fatalf("node %d: backup read %s: %v", i+1, room, err)
				}
				got = append(got, page.Messages...)
				from += uint64(len(page.Messages))
			}
			if d := diffMessages(got, want); d != "" {
				t.Fatalf("node %d: %s: %s", i+1, room, d)
			}
		}
		page, err := n.BackupRead(ctx, "root", room, chatcore.BackupQuery{Members: true})
		if err != nil || len(page.Members) != 2 || page.Members[0].User != "alice" || !page.Members[0].Joined.Equal(start) || page.Members[0].Read != 7 || page.Members[1].Read != 30 || page.Room.Creator != "alice" || page.Room.Created != start.UnixNano() {
			t.Fatalf("%s: members page %+v, %v", room, page, err)
		}
	}
	if _, err := n.BackupRead(ctx, "alice", "dm.alice.bob", chatcore.BackupQuery{}); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("backup read by a user who is not an admin: %v", err)
	}
	got := 0
	for got < 2500 {
		msgs, err := sub.Next(ctx, 512)
		if err != nil {
			t.Fatalf("subscriber after %d messages: %v", got, err)
		}
		if d := diffMessages(msgs, rooms["restored"][got:got+len(msgs)]); d != "" {
			t.Fatalf("subscriber: %s", d)
		}
		got += len(msgs)
	}
	if added, skipped, err := importAll("root"); err != nil || added != 0 || skipped != 2530 {
		t.Fatalf("second import: %d added, %d skipped, %v", added, skipped, err)
	}
	// A batch sent again under its name, through another node, as a client
	// does after losing the answer, reports what the first copy did; the
	// same messages under another name are skipped.
	named := chatcore.ImportBatch{Room: "named", Messages: backup("named", 3, "alice"), ID: parley.NewMsgID(time.Now())}
	for i, node := range []*chatcore.Node{c.Nodes[1], c.Nodes[2]} {
		res, err := node.Import(ctx, "root", named)
		if err != nil || res != (chatcore.ImportResult{Added: 3, LastSeq: 3}) {
			t.Fatalf("copy %d of a named batch: %+v, %v", i+1, res, err)
		}
	}
	named.ID = parley.NewMsgID(time.Now())
	if res, err := n.Import(ctx, "root", named); err != nil || res != (chatcore.ImportResult{Skipped: 3, LastSeq: 3}) {
		t.Fatalf("the same messages under another name: %+v, %v", res, err)
	}
	other := append([]parley.Message(nil), rooms["restored"][:10]...)
	other[4].Text = "rewritten"
	if _, err := n.Import(ctx, "root", chatcore.ImportBatch{Room: "restored", Messages: other}); !errors.Is(err, parley.ErrInvalid) || !strings.Contains(err.Error(), "seq 5 holds another message") {
		t.Fatalf("conflicting import: %v", err)
	}
	// Sends go on after the imported seqs; a retried imported send is a
	// duplicate.
	if res := send(t, c.Nodes[2], "restored", "carol", "after the import"); res.Seq != 2501 {
		t.Fatalf("send after the import got seq %d", res.Seq)
	}
	last := rooms["restored"][2499]
	res, err := n.Send(ctx, chatcore.SendParams{Room: "restored", User: last.User, ID: last.ID, Text: "retry"})
	if err != nil || !res.Duplicate || res.Seq != 2500 {
		t.Fatalf("retried imported send: %+v, %v", res, err)
	}
	for i, node := range c.Nodes {
		page, err := node.BackupRead(ctx, "root", "restored", chatcore.BackupQuery{From: 2500})
		if err != nil || page.LastSeq != 2501 || len(page.Messages) != 2 || page.Messages[1].Text != "after the import" {
			t.Fatalf("node %d: the room ends with %+v, %v", i+1, page, err)
		}
	}
	summaries, err := n.RoomSummaries("bob")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range summaries {
		names = append(names, fmt.Sprintf("%s:%d:%d", s.Name, s.Members, s.Unread))
	}
	if want := "[dm.alice.bob:2:0 named:0:0 restored:2:2471]"; fmt.Sprint(names) != want {
		t.Fatalf("bob's rooms %v, want %s", names, want)
	}
}

// diffMessages says how got differs from want, field by field, or "".
func diffMessages(got, want []parley.Message) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d messages, want %d", len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Room != w.Room || g.Seq != w.Seq || g.ID != w.ID || g.User != w.User || !g.TS.Equal(w.TS) || g.Text != w.Text || g.Kind != w.Kind {
			return fmt.Sprintf("message %d is %+v, want %+v", i, g, w)
		}
	}
	return ""
}
