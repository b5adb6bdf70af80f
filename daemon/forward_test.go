package daemon_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/placement"
)

// settledStatus waits until every room shard of srv's view has its wanted
// voters and no non-voting member, and returns that view.
func settledStatus(t *testing.T, cl *daemontest.Cluster, i int) chatcore.Status {
	t.Helper()
	var st chatcore.Status
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		var err error
		st, err = cl.Server(i).Node().Status(context.Background())
		if err != nil {
			return err
		}
		for _, s := range st.Shards[1:] {
			if len(s.Wanted) == 0 || !slices.Equal(s.Replicas, s.Wanted) || len(s.NonVoting) > 0 || s.Leader == 0 {
				return fmt.Errorf("shard %d: voters %v non-voting %v wanted %v", s.ID, s.Replicas, s.NonVoting, s.Wanted)
			}
		}
		return nil
	})
	return st
}

// A client on a node that holds no replica of its room's shard sends,
// reads, joins and follows the room as anywhere else; its subscription
// gets every message once, in order, also while the upstream node is
// stopped.
func TestForwardToHosts(t *testing.T) {
	const shards = 2
	cl := daemontest.StartCluster(t, 4, daemontest.Options{Shards: shards})
	st := settledStatus(t, cl, 0)
	// 6 replicas on 4 nodes: some node holds one shard only. Find it and a
	// room of the other shard.
	via := -1
	var remote chatcore.ShardStatus
	for i := range cl.Len() {
		id := cl.Server(i).Node().ID()
		var held []uint64
		for _, s := range st.Shards[1:] {
			if slices.Contains(s.Replicas, id) {
				held = append(held, s.ID)
			}
		}
		if len(held) < shards {
			via = i
			for _, s := range st.Shards[1:] {
				if !slices.Contains(held, s.ID) {
					remote = s
				}
			}
			break
		}
	}
	if via < 0 {
		t.Fatalf("every node holds every shard: %+v", st.Shards)
	}
	ring := placement.NewRing(placement.RoomShards(shards))
	room := ""
	for i := 0; room == ""; i++ {
		if r := fmt.Sprintf("room-%d", i); ring.Shard(r) == remote.ID {
			room = r
		}
	}
	t.Logf("client on node %d, room %s on shard %d, voters %v", cl.Server(via).Node().ID(), room, remote.ID, remote.Replicas)

	ann := dialAs(t, "ann", cl.Addr(via))
	ctx := opCtx(t)
	if err := ann.Join(ctx, room); err != nil {
		t.Fatal(err)
	}
	sub, err := ann.Subscribe(ctx, room, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	sendSome := func(from, n int) {
		for i := range n {
			if _, err := ann.Send(ctx, room, fmt.Sprintf("m%d", from+i)); err != nil {
				t.Fatalf("send %d: %v", from+i, err)
			}
		}
	}
	var got []parley.Message
	recv := func(n int) {
		timeout := time.After(60 * time.Second)
		for range n {
			select {
			case m, ok := <-sub.C():
				if !ok {
					t.Fatalf("subscription ended: %v", sub.Err())
				}
				got = append(got, m)
			case <-timeout:
				t.Fatalf("received %d messages, want more", len(got))
			}
		}
	}
	sendSome(0, 20)
	recv(20)

	// Stop the shard's leader, the relay's first choice of upstream.
	victim := cl.Index(addrOf(t, cl, remote.Leader))
	cl.Stop(victim)
	sendSome(20, 20)
	recv(20)
	select {
	case m := <-sub.C():
		t.Fatalf("an extra message: %+v", m)
	case <-time.After(300 * time.Millisecond):
	}
	first := got[0].Seq
	for i, m := range got {
		if m.Seq != first+uint64(i) || m.Text != fmt.Sprintf("m%d", i) {
			t.Fatalf("message %d: %+v (a gap, a duplicate or out of order)", i, m)
		}
	}
	msgs, err := ann.History(ctx, room, client.HistoryOptions{Last: 100})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(msgs); n != 41 { // ann's join notice and 40 messages
		t.Fatalf("history via node %d: %d messages, want 41", via, n)
	}
	who, err := ann.Who(ctx, room)
	if err != nil || len(who) != 1 || who[0].User != "ann" {
		t.Fatalf("who via node %d: %v, %v", via, who, err)
	}
	rooms, err := ann.Rooms(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := roomInfo(rooms, room); !ok || r.Members != 1 || !r.Joined || r.LastSeq != msgs[len(msgs)-1].Seq {
		t.Fatalf("rooms via node %d: %+v", via, rooms)
	}
	if node := cl.Index(ann.Node().Addr); node != via {
		t.Fatalf("client moved to server %d", node)
	}
}

// addrOf returns the client address of node id.
func addrOf(t *testing.T, cl *daemontest.Cluster, id uint64) string {
	t.Helper()
	for i := range cl.Len() {
		if s := cl.Server(i); s != nil && s.Node().ID() == id {
			return cl.Addr(i)
		}
	}
	t.Fatalf("no server is node %d", id)
	return ""
}
