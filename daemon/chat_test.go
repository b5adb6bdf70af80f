package daemon_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// The tests in this file drive rooms, direct messages and presence through
// the SDK against an in-process cluster over real QUIC.

// dialAs connects as user to addrs. A first login hashes the password with
// argon2id, which under the race detector on a busy machine may outlast the
// SDK's handshake timeout: a dial that fails for want of time is tried
// again, a refusal is not.
func dialAs(t *testing.T, user string, addrs ...string) *client.Client {
	t.Helper()
	known := filepath.Join(t.TempDir(), "known_clusters")
	var c *client.Client
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		c, err = client.Dial(ctx, client.Options{Servers: addrs, User: user, Password: "pw-" + user, KnownClustersPath: known})
		if code := transport.CodeOf(err); code != "" && code != transport.CodeUnavailable {
			t.Fatalf("dial as %s: %v", user, err)
		}
		return err
	})
	t.Cleanup(func() { c.Close() })
	return c
}

func opCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, what string, err error, code transport.Code) {
	t.Helper()
	if transport.CodeOf(err) != code {
		t.Errorf("%s: %v, want %s", what, err, code)
	}
}

func roomInfo(rooms []transport.RoomInfo, name string) (transport.RoomInfo, bool) {
	i := slices.IndexFunc(rooms, func(r transport.RoomInfo) bool { return r.Name == name })
	if i < 0 {
		return transport.RoomInfo{}, false
	}
	return rooms[i], true
}

// onlineOf returns who of room's members are online, as c's node sees it.
func onlineOf(ctx context.Context, c *client.Client, room string) (map[string]bool, error) {
	ms, err := c.Who(ctx, room)
	if err != nil {
		return nil, err
	}
	out := make(map[string]bool)
	for _, m := range ms {
		out[m.User] = m.Online
	}
	return out, nil
}

func TestRoomsDirectMessagesPresence(t *testing.T) {
	cl := daemontest.StartCluster(t, 2, daemontest.Options{Shards: 2})
	alice := dialAs(t, "alice", cl.Addr(0))
	bob := dialAs(t, "bob", cl.Addr(1))
	carol := dialAs(t, "carol", cl.Addrs()...)
	dm := parley.DMRoom("bob", "alice")

	t.Run("direct_messages", func(t *testing.T) {
		ctx := opCtx(t)
		r, err := alice.DirectMessage(ctx, "bob", "psst")
		if err != nil || r.Room != "dm.alice.bob" || r.Seq != 1 {
			t.Fatalf("alice writes to bob: %+v %v", r, err)
		}
		msgs, err := bob.History(ctx, dm, client.HistoryOptions{Last: 10})
		if err != nil || len(msgs) != 1 || msgs[0].Text != "psst" || msgs[0].User != "alice" {
			t.Fatalf("bob reads: %+v %v", msgs, err)
		}
		if _, err := bob.DirectMessage(ctx, "alice", "hi"); err != nil {
			t.Fatalf("bob answers: %v", err)
		}
		if _, err := bob.DirectMessage(ctx, "bob", "me"); transport.CodeOf(err) != transport.CodeInvalid {
			t.Fatalf("bob writes to himself: %v, want invalid", err)
		}

		// A third user can neither read nor write nor join, nor list.
		_, err = carol.Send(ctx, dm, "let me in")
		wantCode(t, "carol sends", err, transport.CodeForbidden)
		_, err = carol.History(ctx, dm, client.HistoryOptions{Last: 10})
		wantCode(t, "carol reads", err, transport.CodeForbidden)
		_, err = carol.Subscribe(ctx, dm, 1)
		wantCode(t, "carol subscribes", err, transport.CodeForbidden)
		wantCode(t, "carol joins", carol.Join(ctx, dm), transport.CodeForbidden)
		wantCode(t, "carol leaves", carol.Leave(ctx, dm), transport.CodeForbidden)
		_, err = carol.Who(ctx, dm)
		wantCode(t, "carol asks who", err, transport.CodeForbidden)

		// Both participants see the room, joined; carol does not see it.
		for _, c := range []*client.Client{alice, bob} {
			chatcoretest.WaitFor(t, 20*time.Second, func() error {
				rooms, err := c.Rooms(ctx)
				if err != nil {
					return err
				}
				ri, ok := roomInfo(rooms, dm)
				if !ok || !ri.DM || !ri.Joined || ri.Members != 2 || ri.LastSeq != 2 {
					return fmt.Errorf("%s's rooms: %+v", c.User(), rooms)
				}
				return nil
			})
		}
		rooms, err := carol.Rooms(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := roomInfo(rooms, dm); ok {
			t.Fatalf("carol's rooms list the DM of alice and bob: %+v", rooms)
		}
	})

	t.Run("join_leave", func(t *testing.T) {
		ctx := opCtx(t)
		const room = "lobby"
		for range 2 { // the second join changes nothing
			if err := alice.Join(ctx, room); err != nil {
				t.Fatal(err)
			}
		}
		if err := carol.Join(ctx, room); err != nil {
			t.Fatal(err)
		}
		if err := carol.Leave(ctx, room); err != nil {
			t.Fatal(err)
		}
		msgs, err := bob.History(ctx, room, client.HistoryOptions{From: 1})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, m := range msgs {
			got = append(got, m.Kind+":"+m.Text)
		}
		want := []string{"join:alice joined", "join:carol joined", "leave:carol left"}
		if !slices.Equal(got, want) {
			t.Fatalf("lobby's log %q, want %q", got, want)
		}
		chatcoretest.WaitFor(t, 20*time.Second, func() error {
			rooms, err := carol.Rooms(ctx)
			if err != nil {
				return err
			}
			ri, ok := roomInfo(rooms, room)
			if !ok || ri.Joined || ri.DM || ri.Members != 1 || ri.LastSeq != 3 {
				return fmt.Errorf("carol's view of %s: %+v", room, ri)
			}
			return nil
		})
	})

	t.Run("presence", func(t *testing.T) {
		ctx := opCtx(t)
		const room = "lounge"
		dave := dialAs(t, "dave", cl.Addr(0))
		for _, c := range []*client.Client{bob, dave} {
			if err := c.Join(ctx, room); err != nil {
				t.Fatal(err)
			}
		}
		// bob is on node 2 and asks there; dave is on node 1.
		chatcoretest.WaitFor(t, 20*time.Second, func() error {
			on, err := onlineOf(ctx, bob, room)
			if err != nil {
				return err
			}
			if !on["dave"] || !on["bob"] || len(on) != 2 {
				return fmt.Errorf("who of %s: %v, want bob and dave online", room, on)
			}
			return nil
		})
		dave.Close()
		closed := time.Now()
		chatcoretest.WaitFor(t, 10*time.Second, func() error {
			on, err := onlineOf(ctx, bob, room)
			if err != nil {
				return err
			}
			if on["dave"] || !on["bob"] {
				return fmt.Errorf("who of %s: %v, want dave offline", room, on)
			}
			return nil
		})
		t.Logf("dave offline %v after his client closed", time.Since(closed).Round(time.Millisecond))
	})

}
