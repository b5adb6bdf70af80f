package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/backup"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// TestBackupThroughForwarding exports and imports rooms through a node
// that hosts no replica of them: it reads and writes them on their hosts.
func TestBackupThroughForwarding(t *testing.T) {
	const shards = 2
	cl := daemontest.StartCluster(t, 4, daemontest.Options{Shards: shards})
	root := dialAs(t, "root", cl.Addr(0)) // the first account: the admin
	st := settledStatus(t, cl, 0)
	// 6 replicas on 4 nodes: some node holds one shard only.
	via := -1
	var remote uint64
	for i := range cl.Len() {
		id := cl.Server(i).Node().ID()
		for _, s := range st.Shards[1:] {
			if !slices.Contains(s.Replicas, id) {
				via, remote = i, s.ID
			}
		}
	}
	if via < 0 {
		t.Fatalf("every node holds every shard: %+v", st.Shards)
	}
	ring := placement.NewRing(placement.RoomShards(shards))
	var names []string
	for i := 0; len(names) < 2; i++ {
		if r := fmt.Sprintf("room-%d", i); ring.Shard(r) == remote {
			names = append(names, r)
		}
	}
	room, copyRoom := names[0], names[1]
	t.Logf("via node %d, rooms %s and %s on shard %d", cl.Server(via).Node().ID(), room, copyRoom, remote)
	root.Close()
	root = dialAs(t, "root", cl.Addr(via))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	ann := dialAs(t, "ann", cl.Addr(via))
	if err := ann.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	for i := range 300 {
		if _, err := ann.Send(ctx, room, fmt.Sprintf("m%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := ann.Export(ctx, []string{room}, func(backup.Record) error { return nil }, nil); transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("export by a user who is not an admin: %v", err)
	}
	var recs []backup.Record
	var progress client.ExportProgress
	err := root.Export(ctx, []string{room}, func(r backup.Record) error {
		recs = append(recs, r)
		return nil
	}, func(p client.ExportProgress) { progress = p })
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1+1+1+301 || recs[0].Header.Rooms != 1 || recs[1].Room.LastSeq != 301 || recs[2].Member.User != "ann" ||
		progress != (client.ExportProgress{Rooms: 1, RoomsTotal: 1, Messages: 301}) {
		t.Fatalf("exported %d records, header %+v, room %+v, progress %+v", len(recs), recs[0].Header, recs[1].Room, progress)
	}
	// The same room under another name, imported through the same node.
	var buf bytes.Buffer
	w := backup.NewWriter(&buf)
	for _, r := range recs {
		switch {
		case r.Room != nil:
			c := *r.Room
			c.Name = copyRoom
			r.Room = &c
		case r.Member != nil:
			c := *r.Member
			c.Room = copyRoom
			r.Member = &c
		case r.Message != nil:
			c := *r.Message
			c.Room = copyRoom
			r.Message = &c
		}
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	stats, err := root.Import(ctx, bytes.NewReader(data), nil)
	if err != nil || stats.Added != 301 || stats.MembersAdded != 1 {
		t.Fatalf("import: %+v, %v", stats, err)
	}
	stats, err = root.Import(ctx, bytes.NewReader(data), nil)
	if err != nil || stats.Added != 0 || stats.Skipped != 301 || stats.MembersAdded != 0 {
		t.Fatalf("second import: %+v, %v", stats, err)
	}
	a, err := ann.History(ctx, room, client.HistoryOptions{From: 1, Limit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	b, err := ann.History(ctx, copyRoom, client.HistoryOptions{From: 1, Limit: 2000})
	if err != nil {
		t.Fatal(err)
	}
	if len(a) != 301 || len(b) != len(a) {
		t.Fatalf("%d messages, %d in the copy", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		x.Room = copyRoom
		if x.Seq != y.Seq || x.ID != y.ID || x.User != y.User || !x.TS.Equal(y.TS) || x.Text != y.Text || x.Kind != y.Kind {
			t.Fatalf("seq %d: %+v, copied as %+v", i+1, a[i], y)
		}
	}
	// A conflicting batch is refused, naming the seq, and changes nothing.
	bad := bytes.Replace(data, []byte(`"text":"m7"`), []byte(`"text":"m7!"`), 1)
	if _, err := root.Import(ctx, bytes.NewReader(bad), nil); transport.CodeOf(err) != transport.CodeInvalid || !bytes.Contains([]byte(err.Error()), []byte("seq 9 holds another message")) {
		t.Fatalf("conflicting import: %v", err)
	}
	if res, err := ann.Send(ctx, copyRoom, "after"); err != nil || res.Seq != 302 {
		t.Fatalf("send after the import: %+v, %v", res, err)
	}
}
