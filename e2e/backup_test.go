package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
)

// TestBackupRoundTrip exports 10,000 messages of several rooms (a
// direct-message room and join and leave notices among them) from one
// cluster with "parley admin export" and imports them into another with
// "parley admin import": every message has the same seq, id, user, time,
// kind and text there, every member the same join time and read marker. A
// user who is not an admin may do neither, and a second import changes
// nothing.
func TestBackupRoundTrip(t *testing.T) {
	src, dst := startCluster(t), startCluster(t)
	const total = 10000
	rooms := []string{"backup-general", "backup-random", "backup-ops"}
	dm := parley.DMRoom("alice", "bob")

	// The harness's probes log in first: "probe" is each cluster's admin.
	const admin = "probe"
	users := map[string]*client.Client{}
	for _, u := range []string{"alice", "bob", "carol"} {
		users[u] = src.Dial(t, u)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Joins and leaves, then sends up to total messages in all.
	notices := 0
	for _, step := range []struct {
		user, room string
		join       bool
	}{
		{"alice", rooms[0], true}, {"bob", rooms[0], true}, {"carol", rooms[1], true},
		{"carol", rooms[2], true}, {"carol", rooms[2], false}, {"bob", rooms[1], true},
	} {
		var err error
		if step.join {
			err = users[step.user].Join(ctx, step.room)
		} else {
			err = users[step.user].Leave(ctx, step.room)
		}
		if err != nil {
			t.Fatal(err)
		}
		notices++
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < total-notices; i += 8 {
				var err error
				switch u := []string{"alice", "bob", "carol"}[i%3]; {
				case i%10 == 0 && u != "carol":
					_, err = users[u].DirectMessage(ctx, map[string]string{"alice": "bob", "bob": "alice"}[u], fmt.Sprintf("psst %d", i))
				default:
					_, err = users[u].Send(ctx, rooms[i%len(rooms)], fmt.Sprintf("message %d from %s: \"quoted\" <b>ünïcode</b>\n", i, u))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if _, err := users["alice"].MarkRead(ctx, rooms[0], 42); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "backup.jsonl")
	if r := src.cli(t, "alice").run(t, "", "admin", "export", "--output", file); r.code == 0 || !strings.Contains(r.stderr, "not an admin") {
		t.Fatalf("export by a user who is not an admin: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a refused export left a file: %v", err)
	}
	src.cli(t, admin).mustRun(t, "", "admin", "export", "--output", file)
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if got := bytes.Count(data, []byte(`{"type":"msg"`)); got != total {
		t.Fatalf("the backup holds %d messages, want %d", got, total)
	}
	if !bytes.HasPrefix(data, []byte(`{"type":"parley-backup","version":1,"cluster":"`)) || !bytes.Contains(data[:200], []byte(`"rooms":4}`)) {
		t.Fatalf("backup header: %.200s", data)
	}

	if r := dst.cli(t, "alice").run(t, "", "admin", "import", file); r.code == 0 || !strings.Contains(r.stderr, "not an admin") {
		t.Fatalf("import by a user who is not an admin: exit %d, stderr %q", r.code, r.stderr)
	}
	if got := dst.Dial(t, "alice"); len(roomsOf(t, got)) != 0 {
		t.Fatalf("a refused import made rooms: %v", roomsOf(t, got))
	}
	out := dst.cli(t, admin).mustRun(t, "", "admin", "import", file).stdout
	if !strings.Contains(out, fmt.Sprintf("imported 4 rooms from cluster %s: %d messages added, 0 already here, ", srcCluster(data), total)) {
		t.Fatalf("import said %q", out)
	}

	// Field by field, as the users read them in each cluster.
	readers := map[string]string{rooms[0]: admin, rooms[1]: admin, rooms[2]: admin, dm: "alice"}
	for room, user := range readers {
		a, b := readAll(t, src.Dial(t, user), room), readAll(t, dst.Dial(t, user), room)
		if len(a) < 100 {
			t.Fatalf("%s holds %d messages", room, len(a))
		}
		if d := diffMsgs(a, b); d != "" {
			t.Fatalf("%s: %s", room, d)
		}
		wa, wb := whoOf(t, src.Dial(t, user), room), whoOf(t, dst.Dial(t, user), room)
		if wa != wb {
			t.Fatalf("%s: members %s here, %s there", room, wa, wb)
		}
	}
	// The second cluster exports the very same rooms (read markers and
	// join times included); a second import changes nothing.
	again := filepath.Join(dir, "again.jsonl")
	dst.cli(t, admin).mustRun(t, "", "admin", "export", "--output", again)
	if d := diffBackups(t, file, again); d != "" {
		t.Fatalf("exported again from the second cluster: %s", d)
	}
	out = dst.cli(t, admin).mustRun(t, "", "admin", "import", file).stdout
	if !strings.Contains(out, fmt.Sprintf(": 0 messages added, %d already here, 0 members added", total)) {
		t.Fatalf("second import said %q", out)
	}
	dst.cli(t, admin).mustRun(t, "", "admin", "export", "--output", again)
	if d := diffBackups(t, file, again); d != "" {
		t.Fatalf("after a second import: %s", d)
	}
	// Sends go on after the imported seqs.
	last := readAll(t, dst.Dial(t, admin), rooms[0])
	res, err := dst.Dial(t, "bob").Send(ctx, rooms[0], "after the restore")
	if err != nil || res.Seq != uint64(len(last))+1 {
		t.Fatalf("send after the import: %+v, %v; the room had %d messages", res, err, len(last))
	}
}

func roomsOf(t *testing.T, c *client.Client) []string {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	infos, err := c.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range infos {
		names = append(names, r.Name)
	}
	return names
}

func whoOf(t *testing.T, c *client.Client, room string) string {
	t.Helper()
	ctx, cancel := opContext()
	defer cancel()
	members, err := c.Who(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range members {
		names = append(names, m.User)
	}
	return strings.Join(names, ",")
}

func readAll(t *testing.T, c *client.Client, room string) []parley.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out []parley.Message
	for {
		page, err := c.History(ctx, room, client.HistoryOptions{From: uint64(len(out)) + 1, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
	}
}

func diffMsgs(a, b []parley.Message) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d messages here, %d there", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Room != y.Room || x.Seq != y.Seq || x.ID != y.ID || x.User != y.User || !x.TS.Equal(y.TS) || x.Text != y.Text || x.Kind != y.Kind {
			return fmt.Sprintf("message %d is %+v here, %+v there", i, x, y)
		}
	}
	return ""
}

// diffBackups compares two backups line by line, their headers aside.
func diffBackups(t *testing.T, a, b string) string {
	t.Helper()
	read := func(p string) []string {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(string(data), "\n")[1:]
	}
	x, y := read(a), read(b)
	if len(x) != len(y) {
		return fmt.Sprintf("%d lines, then %d", len(x), len(y))
	}
	for i := range x {
		if x[i] != y[i] {
			return fmt.Sprintf("line %d is\n%s\nthen\n%s", i+2, x[i], y[i])
		}
	}
	return ""
}

// srcCluster returns the cluster id in a backup's header.
func srcCluster(data []byte) string {
	_, rest, _ := bytes.Cut(data, []byte(`"cluster":"`))
	id, _, _ := bytes.Cut(rest, []byte(`"`))
	return string(id)
}
