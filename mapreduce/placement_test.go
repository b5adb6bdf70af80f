package mapreduce_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// TestFiveNodesLocalityAndAdmin runs jobs on a 5-node cluster where each
// shard lives on only 3 nodes. Map tasks run where their shard's replicas
// are (a task elsewhere could not read its rooms and would run again), a
// coordinator that does not host a room reads its cut on a host, and a job
// over every room runs only for an administrator, who then sees every
// pair's direct messages.
func TestFiveNodesLocalityAndAdmin(t *testing.T) {
	c := daemontest.StartCluster(t, 5, daemontest.Options{Shards: 6, Replicas: 3})
	// The first account claimed is the cluster's administrator.
	root := dialPatient(t, c.Addr(0), "root")
	// Accounts are claimed one at a time: five nodes in one process under
	// the race detector are slow to hash passwords concurrently.
	for ui, u := range users {
		cl := dialPatient(t, c.Addr(0), u)
		patientChat(t, cl, ui, 15)
		cl.Close()
	}

	// Alice's client is on a node that does not host general's shard.
	via := -1
	nonHosts := map[uint64]bool{}
	for i := range c.Len() {
		hosts, err := c.Server(i).Node().HostsRoom("general")
		if err != nil {
			t.Fatal(err)
		}
		if !hosts {
			via = i
			nonHosts[c.Server(i).Node().ID()] = true
		}
	}
	if via < 0 {
		t.Fatal("every node hosts general: the cluster does not place shards on 3 of 5 nodes")
	}
	// A client may land on another node than the one it dials first: dial
	// again until it is on one that does not host general.
	alice := dialPatient(t, c.Addr(via), "alice")
	for try := 0; !nonHosts[alice.Node().ID] && try < 15; try++ {
		alice.Close()
		alice = dialPatient(t, c.Addr(via), "alice")
	}
	msgs := readable(t, alice)
	remoteCut := false
	for _, job := range []string{"messages-per-user", "messages-per-room"} {
		res := checkJob(t, alice, job, client.AnalyticsParams{}, msgs)
		if res.Progress.Reruns != 0 {
			t.Errorf("%s: progress %+v: an attempt ran again (a map task placed away from its shard fails)", job, res.Progress)
		}
		remoteCut = remoteCut || nonHosts[res.Progress.Coordinator]
	}
	if !remoteCut {
		t.Errorf("no job was coordinated by a node that does not host general (%v): the remote cut is untested", nonHosts)
	}

	// Every room, DMs included: only for the administrator.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	_, err := alice.Analytics(ctx, "messages-per-room", client.AnalyticsParams{All: true})
	if transport.CodeOf(err) != transport.CodeForbidden || !strings.Contains(err.Error(), "administrator") {
		t.Fatalf("alice's job over every room: %v, want forbidden", err)
	}
	carol := dialPatient(t, c.Addr(2), "carol")
	every := union(msgs, readable(t, carol))
	res := checkJob(t, root, "messages-per-room", client.AnalyticsParams{All: true}, every)
	dms := 0
	for _, r := range res.Rows {
		if strings.HasPrefix(r.Key, "dm.") {
			dms++
		}
	}
	if dms != len(users) {
		t.Errorf("the administrator's job over every room counted %d direct-message rooms, want %d: %v", dms, len(users), rowsOf(res))
	}
	// Without rooms, the administrator's job means the rooms root may
	// read: root has no direct messages.
	res, err = root.Analytics(ctx, "messages-per-room", client.AnalyticsParams{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Rows {
		if strings.HasPrefix(r.Key, "dm.") {
			t.Errorf("root's job without rooms counted %s", r.Key)
		}
	}
	if len(res.Rows) != len(publicRoom) {
		t.Errorf("root's job without rooms: %v, want the %d public rooms", rowsOf(res), len(publicRoom))
	}
}

// union is a and b without duplicates.
func union(a, b []parley.Message) []parley.Message {
	seen := map[string]bool{}
	var out []parley.Message
	for _, m := range slices.Concat(a, b) {
		k := m.Room + "#" + m.ID.String()
		if !seen[k] {
			seen[k] = true
			out = append(out, m)
		}
	}
	return out
}

// dialPatient dials as user, trying again a few times: five nodes in one
// process under the race detector on a busy machine may take longer than
// one handshake allows to hash a password and commit an account.
func dialPatient(t *testing.T, addr, user string) *client.Client {
	t.Helper()
	var err error
	for try := 0; try < 4; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		var c *client.Client
		c, err = client.Dial(ctx, client.Options{
			Servers: []string{addr}, User: user, Password: password,
			KnownClustersPath: filepath.Join(t.TempDir(), "known_clusters"),
		})
		cancel()
		if err == nil {
			t.Cleanup(func() { c.Close() })
			return c
		}
		t.Logf("dial %s, try %d: %v", user, try+1, err)
	}
	t.Fatalf("dial %s: %v", user, err)
	return nil
}

// patientChat sends n messages from the ui-th user, one at a time, to the
// public rooms and to a direct-message room with the next user. A send
// whose outcome is unknown (a busy machine) is sent again with its id,
// which commits it at most once.
func patientChat(t *testing.T, cl *client.Client, ui, n int) {
	t.Helper()
	rooms := append(slices.Clone(publicRoom), parley.DMRoom(users[ui], users[(ui+1)%len(users)]))
	for i := range n {
		room := rooms[(i+ui)%len(rooms)]
		text := strings.Join([]string{vocabulary[(i*7+ui)%len(vocabulary)], vocabulary[(i*3+1)%len(vocabulary)], "error-42"}[:1+i%3], " ")
		id := parley.NewMsgID(time.Now())
		var err error
		for try := 0; try < 4; try++ {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			_, err = cl.SendID(ctx, room, id, text)
			cancel()
			if err == nil || !errors.Is(err, client.ErrOutcomeUnknown) {
				break
			}
			t.Logf("%s send, try %d: %v", users[ui], try+1, err)
		}
		if err != nil {
			t.Fatalf("%s send to %s: %v", users[ui], room, err)
		}
	}
}
