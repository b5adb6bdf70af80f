package chatcore_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/placement"
)

// settled waits until node's view shows every room shard with exactly the
// wanted r voters, none non-voting, a leader, and leaders spread S/N ± 1
// over the active nodes; it returns that view.
func settled(t *testing.T, c *chatcoretest.Cluster, node *chatcore.Node, r int) chatcore.Status {
	t.Helper()
	var st chatcore.Status
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		var err error
		if st, err = node.Status(context.Background()); err != nil {
			return err
		}
		for _, s := range st.Shards[1:] {
			if len(s.Replicas) != r || !slices.Equal(s.Replicas, s.Wanted) || len(s.NonVoting) > 0 || s.Leader == 0 {
				return fmt.Errorf("shard %d: voters %v non-voting %v wanted %v leader %d", s.ID, s.Replicas, s.NonVoting, s.Wanted, s.Leader)
			}
		}
		ideal := float64(c.Shards) / float64(len(st.Nodes))
		for _, n := range st.Nodes {
			if !n.Up {
				continue
			}
			if math.Abs(float64(n.Leaders)-ideal) > 1 {
				return fmt.Errorf("node %d leads %d shards, want %.1f ± 1", n.ID, n.Leaders, ideal)
			}
		}
		return nil
	})
	return st
}

// placementOf returns each room shard's voters in st.
func placementOf(st chatcore.Status) map[uint64][]uint64 {
	out := make(map[uint64][]uint64)
	for _, s := range st.Shards[1:] {
		out[s.ID] = s.Replicas
	}
	return out
}

// hostOf returns a running node of c that votes in room's shard.
func hostOf(t *testing.T, c *chatcoretest.Cluster, st chatcore.Status, room string) *chatcore.Node {
	t.Helper()
	shard := placement.NewRing(placement.RoomShards(c.Shards)).Shard(room)
	for _, s := range st.Shards {
		if s.ID != shard {
			continue
		}
		for _, n := range c.Nodes {
			if n != nil && slices.Contains(s.Replicas, n.ID()) {
				return n
			}
		}
	}
	t.Fatalf("no running node hosts %s", room)
	return nil
}

func TestElasticPlacement(t *testing.T) {
	const shards, r = 8, 3
	c := chatcoretest.StartCluster(t, 5, chatcoretest.Options{Shards: shards, Replicas: r, DeadAfter: 6 * time.Second})
	st := settled(t, c, c.Nodes[0], r)
	for _, n := range st.Nodes {
		ideal := float64(r*shards) / 5
		if math.Abs(float64(n.Voters)-ideal) > 2 || n.Voters >= shards {
			t.Fatalf("node %d holds %d voters, want %.1f ± 2 and not every shard", n.ID, n.Voters, ideal)
		}
	}
	rooms := make([]string, 12)
	for i := range rooms {
		rooms[i] = fmt.Sprintf("room-%d", i)
	}
	sent := make(map[string]int)
	sendAll := func(st chatcore.Status, round string) {
		for _, room := range rooms {
			send(t, hostOf(t, c, st, room), room, "ann", round)
			sent[room]++
		}
	}
	sendAll(st, "5 nodes")

	// Join: the 6th node takes its share, and only its share moves.
	before := placementOf(st)
	six := c.AddNode()
	st = settled(t, c, c.Nodes[0], r)
	moved := placement.Moved(before, placementOf(st))
	t.Logf("join: %d replicas moved, ideal %d (%d·%d/6)", moved, r*shards/6, r, shards)
	if lo, hi := r*shards/6, (r*shards+5)/6; moved < lo || moved > hi {
		t.Fatalf("join moved %d replicas, want %d..%d", moved, lo, hi)
	}
	for _, n := range st.Nodes {
		if n.ID == c.Nodes[six].ID() && n.Voters == 0 {
			t.Fatal("the new node holds no replica")
		}
	}
	sendAll(st, "6 nodes")

	// Remove: only an admin may, and the node drains, then stops.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, u := range []string{"ann", "bob"} { // ann logs in first: admin
		if err := c.Nodes[0].Login(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Nodes[0].RemoveNode(ctx, "bob", "n2"); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("bob's remove-node: %v, want forbidden", err)
	}
	if err := c.Nodes[0].SetDeadAfter(ctx, "bob", time.Hour); !errors.Is(err, parley.ErrForbidden) {
		t.Fatalf("bob's set dead-after: %v, want forbidden", err)
	}
	if st2 := settled(t, c, c.Nodes[0], r); !slices.Equal(placementOf(st2)[placement.RoomShards(shards)[0]], placementOf(st)[placement.RoomShards(shards)[0]]) || len(st2.Nodes) != 6 {
		t.Fatal("a forbidden remove-node changed the cluster")
	}
	before = placementOf(st)
	gone := c.Nodes[1]
	if _, err := c.Nodes[0].RemoveNode(ctx, "ann", "n2"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gone.Removed():
	case <-time.After(90 * time.Second):
		t.Fatal("removed node still serves")
	}
	c.Stop(1)
	st = settled(t, c, c.Nodes[0], r)
	chatcoretest.WaitFor(t, 30*time.Second, func() error {
		st, err := c.Nodes[0].Status(context.Background())
		if err != nil {
			return err
		}
		if reg := st.Shards[0]; slices.Contains(reg.Replicas, gone.ID()) || slices.Contains(reg.NonVoting, gone.ID()) {
			return fmt.Errorf("the removed node is still in the registry: voters %v non-voting %v", reg.Replicas, reg.NonVoting)
		}
		return nil
	})
	if len(st.Nodes) != 5 {
		t.Fatalf("after remove-node, %d nodes listed", len(st.Nodes))
	}
	held := 0
	for _, vs := range before {
		if slices.Contains(vs, gone.ID()) {
			held++
		}
	}
	moved = placement.Moved(before, placementOf(st))
	t.Logf("remove: %d replicas moved, ideal %d", moved, held)
	if moved < held || moved > held+2 {
		t.Fatalf("remove moved %d replicas, want %d..%d", moved, held, held+2)
	}
	sendAll(st, "after remove")

	// Death: a node silent past dead-after is replaced.
	dead := c.Nodes[2]
	deadID := dead.ID()
	c.Stop(2)
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		st, err := c.Nodes[0].Status(context.Background())
		if err != nil {
			return err
		}
		for _, s := range st.Shards[1:] {
			if slices.Contains(s.Replicas, deadID) || len(s.Replicas) != r || len(s.NonVoting) > 0 || s.Leader == 0 {
				return fmt.Errorf("shard %d: voters %v non-voting %v leader %d", s.ID, s.Replicas, s.NonVoting, s.Leader)
			}
		}
		return nil
	})
	st, err := c.Nodes[0].Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sendAll(st, "after death")
	for _, room := range rooms {
		checkHosts(t, c, st, room, sent[room])
	}

	// The dead node comes back: it learns it was replaced, drops what it
	// held, and takes its share again as an empty node.
	c.Restart(2)
	chatcoretest.WaitFor(t, 90*time.Second, func() error {
		st := settled(t, c, c.Nodes[0], r)
		for _, n := range st.Nodes {
			if n.ID == deadID && n.Voters == 0 {
				return fmt.Errorf("node %d came back and holds nothing yet", deadID)
			}
		}
		return nil
	})
	st = settled(t, c, c.Nodes[0], r)
	sendAll(st, "after return")
	for _, room := range rooms {
		checkHosts(t, c, st, room, sent[room])
	}
}

// checkHosts asserts that every running node voting in room's shard holds
// the same gapless history of want messages.
func checkHosts(t *testing.T, c *chatcoretest.Cluster, st chatcore.Status, room string, want int) {
	t.Helper()
	shard := placement.NewRing(placement.RoomShards(c.Shards)).Shard(room)
	var ref []parley.Message
	for _, s := range st.Shards {
		if s.ID != shard {
			continue
		}
		for _, n := range c.Nodes {
			if n == nil || !slices.Contains(s.Replicas, n.ID()) {
				continue
			}
			got := history(t, n, room)
			if len(got) != want {
				t.Fatalf("node %d: %s has %d messages, want %d", n.ID(), room, len(got), want)
			}
			for j, m := range got {
				if m.Seq != uint64(j+1) || ref != nil && m != ref[j] {
					t.Fatalf("node %d: %s position %d: %+v", n.ID(), room, j, m)
				}
			}
			ref = got
		}
	}
}
