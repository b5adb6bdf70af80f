package daemon

import (
	"errors"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// FuzzImportRequest decodes import request bodies as a node does, with the
// network limits, and checks them: no panic, and what is refused is
// refused as bad input.
func FuzzImportRequest(f *testing.F) {
	ts := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	good := transport.ImportRequest{Room: "general", Creator: "alice", Created: ts.UnixNano(), LastSeq: 2,
		Messages: []parley.Message{
			{Room: "general", Seq: 1, ID: parley.NewMsgID(ts), User: "alice", TS: ts, Kind: parley.KindJoin, Text: "alice joined"},
			{Seq: 2, ID: parley.NewMsgID(ts), User: "bob", TS: ts, Text: "hi"},
		},
		Members: []transport.BackupMember{{User: "alice", Joined: ts.UnixNano(), Read: 2}},
		Batch:   parley.NewMsgID(ts),
	}
	for _, r := range []transport.ImportRequest{good, {Room: "dm.alice.bob", Messages: good.Messages}, {}} {
		body, err := parley.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r transport.ImportRequest
		if err := parley.Unmarshal(body, &r); err != nil {
			return
		}
		b, err := importBatchOf(r)
		if err != nil {
			if !errors.Is(err, parley.ErrInvalid) && !errors.Is(err, parley.ErrTooLarge) {
				t.Fatalf("refused as %v, not as bad input", err)
			}
			return
		}
		if b.Room != r.Room || len(b.Messages) != len(r.Messages) || len(b.Members) != len(r.Members) {
			t.Fatalf("request %+v became batch %+v", r, b)
		}
		for i, m := range b.Messages {
			if parley.ValidateUser(m.User) != nil || parley.ValidateText(m.Text) != nil || m.ID.IsZero() || m.Seq != b.Messages[0].Seq+uint64(i) {
				t.Fatalf("accepted a bad message %+v", m)
			}
		}
	})
}
