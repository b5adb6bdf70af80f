package daemon

import (
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// TestImportCopyReportsTheFirstOutcome sends one import request twice
// under the same batch name, as a client does when an answer is lost: the
// second answer is the first's. Under a new name the messages are skipped.
func TestImportCopyReportsTheFirstOutcome(t *testing.T) {
	srv := startServer(t)
	rc, w := dialRaw(t, srv, alice) // the first account: an admin
	if w.Error != nil {
		t.Fatalf("welcome: %+v", w.Error)
	}
	ts := time.Now().Add(-time.Hour).UTC().Truncate(time.Millisecond)
	req := transport.ImportRequest{Room: "restored", Batch: parley.NewMsgID(time.Now()), LastSeq: 2}
	for i := range 2 {
		req.Messages = append(req.Messages, parley.Message{Seq: uint64(i + 1), ID: parley.NewMsgID(ts), User: "bob", TS: ts, Text: "old news"})
	}
	importOnce := func(id uint64) transport.ImportResponse {
		t.Helper()
		resp := rc.call(id, transport.OpImport, req)
		var ir transport.ImportResponse
		if resp.Error != nil || parley.Unmarshal(resp.Body, &ir) != nil {
			t.Fatalf("import: %+v", resp.Error)
		}
		return ir
	}
	for i := range 2 {
		if got := importOnce(uint64(i + 1)); got != (transport.ImportResponse{Added: 2, LastSeq: 2}) {
			t.Fatalf("copy %d: %+v", i+1, got)
		}
	}
	req.Batch = parley.NewMsgID(time.Now())
	if got := importOnce(3); got != (transport.ImportResponse{Skipped: 2, LastSeq: 2}) {
		t.Fatalf("under another name: %+v", got)
	}
	if got := lastSeq(t, rc, "restored"); got != 2 {
		t.Fatalf("last seq %d, want 2", got)
	}
}
