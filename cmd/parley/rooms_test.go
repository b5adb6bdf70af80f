package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

func TestPrintRooms(t *testing.T) {
	rooms := []transport.RoomInfo{
		{Name: "dm.alice.bob", Members: 2, LastSeq: 7, Joined: true, DM: true, Unread: 3},
		{Name: "general", Members: 12, LastSeq: 1234},
	}
	p, b := testPrinter(false)
	if err := p.rooms(rooms); err != nil {
		t.Fatal(err)
	}
	want := "NAME          MEMBERS  LAST  JOINED  UNREAD\n" +
		"dm.alice.bob  2        7     yes     3\n" +
		"general       12       1234  no      -\n"
	if b.String() != want {
		t.Fatalf("rooms table:\n%s\nwant:\n%s", b.String(), want)
	}
	p, b = testPrinter(true)
	if err := p.rooms(rooms); err != nil {
		t.Fatal(err)
	}
	out := lines(b.String())
	if len(out) != 2 || out[0] != `{"name":"dm.alice.bob","members":2,"last_seq":7,"joined":true,"dm":true,"unread":3}` ||
		out[1] != `{"name":"general","members":12,"last_seq":1234,"joined":false,"dm":false,"unread":0}` {
		t.Fatalf("rooms --json:\n%s", b.String())
	}
}

func TestPrintMembers(t *testing.T) {
	members := []transport.Member{{User: "alice", Online: true}, {User: "bob"}}
	p, b := testPrinter(false)
	if err := p.members(members); err != nil {
		t.Fatal(err)
	}
	if b.String() != "alice online\nbob offline\n" {
		t.Fatalf("who: %q", b.String())
	}
	p, b = testPrinter(true)
	if err := p.members(members); err != nil {
		t.Fatal(err)
	}
	if b.String() != `{"user":"alice","online":true}`+"\n"+`{"user":"bob","online":false}`+"\n" {
		t.Fatalf("who --json: %q", b.String())
	}
}

func TestPrintNotice(t *testing.T) {
	m := parley.Message{Room: "general", Seq: 13, ID: testID, User: "alice", TS: testTS, Text: "alice joined", Kind: parley.KindJoin}
	p, b := testPrinter(false)
	if err := p.message(m); err != nil {
		t.Fatal(err)
	}
	if b.String() != "[15:04:05] general#13 * alice joined\n" {
		t.Fatalf("plain notice %q", b.String())
	}
	p, b = testPrinter(true)
	if err := p.message(m); err != nil {
		t.Fatal(err)
	}
	if keys := jsonKeys(t, b.String()); !slices.Equal(keys, []string{"room", "seq", "id", "user", "ts", "text", "kind"}) {
		t.Fatalf("notice --json keys %v: %s", keys, b.String())
	}
	m.Kind = ""
	p, b = testPrinter(true)
	if err := p.message(m); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "kind") {
		t.Fatalf("a chat message has a kind: %s", b.String())
	}
}

// TestRoomsWhoOnCluster runs rooms and who, and the DM refusals, against
// a real one-node cluster.
func TestRoomsWhoOnCluster(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	cl := daemontest.StartCluster(t, 1, daemontest.Options{Shards: 2})
	ca := cl.CAFile()
	as := func(user string) *testEnv {
		return newTestEnv(t, map[string]string{envServer: cl.Addr(0), envUser: user, envPassword: "pw"})
	}
	// withCA puts --ca right after the command: flags come before text.
	withCA := func(args []string) []string {
		return append([]string{args[0], "--ca", ca}, args[1:]...)
	}
	// runAs runs a command as user. A login hashes the password with
	// argon2id, which on a busy machine under the race detector may
	// outlast the SDK's handshake timeout: a run that could not connect is
	// tried again.
	runAs := func(user string, args ...string) (*testEnv, int) {
		for try := 1; ; try++ {
			te := as(user)
			code := te.run(withCA(args)...)
			if try == 5 || !strings.Contains(te.errOut.String(), "no server reachable") {
				return te, code
			}
		}
	}
	mustRun := func(user string, args ...string) string {
		t.Helper()
		te, code := runAs(user, args...)
		if code != 0 {
			t.Fatalf("%s: parley %s: exit %d, stderr %q", user, strings.Join(args, " "), code, te.errOut.String())
		}
		return te.out.String()
	}
	mustRun("alice", "send", "--room", "dm.alice.bob", "hi bob")

	// alice stays connected (online) and joins general.
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var sdk *client.Client
	chatcoretest.WaitFor(t, 60*time.Second, func() error { // see runAs
		var err error
		sdk, err = client.Dial(ctx, client.Options{Servers: []string{cl.Addr(0)}, User: "alice", Password: "pw", CAFile: ca})
		return err
	})
	defer sdk.Close()
	if err := sdk.Join(ctx, "general"); err != nil {
		t.Fatal(err)
	}

	chatcoretest.WaitFor(t, 20*time.Second, func() error {
		got := lines(mustRun("alice", "rooms", "--json"))
		want := []string{
			`{"name":"dm.alice.bob","members":2,"last_seq":1,"joined":true,"dm":true,"unread":0}`,
			`{"name":"general","members":1,"last_seq":1,"joined":true,"dm":false,"unread":0}`,
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("alice's rooms %q, want %q", got, want)
		}
		return nil
	})
	if got := lines(mustRun("carol", "rooms")); len(got) != 2 || !strings.HasPrefix(got[1], "general ") {
		t.Fatalf("carol's rooms:\n%s", strings.Join(got, "\n"))
	}
	if got := mustRun("bob", "who", "--room", "general"); got != "alice online\n" {
		t.Fatalf("who: %q", got)
	}
	got := lines(mustRun("bob", "who", "--room", "dm.alice.bob", "--json"))
	if len(got) != 2 || got[0] != `{"user":"alice","online":true}` || !strings.HasPrefix(got[1], `{"user":"bob",`) {
		t.Fatalf("who of the DM room: %q", got)
	}
	if got := lines(mustRun("bob", "history", "--room", "general")); len(got) != 1 || !strings.HasSuffix(got[0], "] general#1 * alice joined") {
		t.Fatalf("history of general: %q", got)
	}

	for _, args := range [][]string{
		{"history", "--room", "dm.alice.bob"},
		{"tail", "--room", "dm.alice.bob"},
		{"who", "--room", "dm.alice.bob"},
		{"send", "--room", "dm.alice.bob", "me too"},
	} {
		te, code := runAs("carol", args...)
		if code != 1 || !strings.HasPrefix(te.errOut.String(), "parley: forbidden: ") {
			t.Errorf("carol: parley %s: exit %d, stderr %q; want 1 and forbidden", strings.Join(args, " "), code, te.errOut.String())
		}
	}
	te := as("bob")
	if code := te.run("who", "--ca", ca); code != 2 {
		t.Fatalf("who without --room: exit %d, want 2", code)
	}
}
