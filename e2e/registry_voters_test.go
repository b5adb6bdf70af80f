package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proccluster"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// The registry-voters cluster: small, with a short dead-after.
const (
	regVotersShards    = 8
	regVotersDeadAfter = 5 * time.Second
)

// startRegistryVoters starts 5 nodes with a short dead-after; "admin" logs
// in first, so it is the cluster's admin.
func startRegistryVoters(t *testing.T) *Cluster {
	t.Helper()
	c := &Cluster{Root: t.TempDir()}
	pc, err := proccluster.Start(proccluster.Config{
		Parleyd: parleydBin, Dir: c.Root, Size: 5, Profile: "small", Shards: regVotersShards,
		Args:     []string{"--replicas", "3", "--dead-after", regVotersDeadAfter.String()},
		Launcher: launcher,
	}, func(n *Node) error { return waitHealthy(n, startTimeout) })
	if pc != nil {
		c.Cluster = pc
		t.Cleanup(func() {
			if t.Failed() {
				c.dumpLogs(t)
			}
			c.Close()
		})
	}
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	c.Dial(t, "admin")
	c.Probes = proccluster.NewProbes(func(ctx context.Context, n *Node) (*client.Client, error) {
		return c.dial(ctx, "probe", []string{n.Client})
	})
	return c
}

// registryVoters waits until a live node's status shows the registry's
// voters as the nodes of want, none non-voting but those of learners, and a
// leader among them; and no node
// that is down leading any shard. It returns that status.
func (c *Cluster) registryVoters(t *testing.T, what string, want, learners []*Node) transport.StatusResponse {
	t.Helper()
	ids := func(ns []*Node) []uint64 {
		var out []uint64
		for _, n := range ns {
			out = append(out, n.ID())
		}
		return out
	}
	var st transport.StatusResponse
	waitFor(t, 3*settleTimeout, what, func() error {
		ctx, cancel := opContext()
		defer cancel()
		var err error
		if st, err = c.StatusOn(ctx, c.Live()[0]); err != nil {
			return err
		}
		if err := noDownLeader(st); err != nil {
			return permanent(err)
		}
		r := st.Shards[0]
		if r.ID != placement.RegistryShard {
			return fmt.Errorf("first shard is %d, not the registry", r.ID)
		}
		if !sameIDs(r.Replicas, ids(want)) || !sameIDs(r.NonVoting, ids(learners)) {
			return fmt.Errorf("registry voters %v non-voting %v; want voters %v non-voting %v",
				r.Replicas, r.NonVoting, ids(want), ids(learners))
		}
		if !slices.Contains(r.Replicas, r.Leader) {
			return fmt.Errorf("registry leader %d is not a voter", r.Leader)
		}
		return nil
	})
	t.Logf("%s: registry voters %v, leader %d", what, st.Shards[0].Replicas, st.Shards[0].Leader)
	return st
}

// noDownLeader fails if the status names a node that is down as a shard's
// leader.
func noDownLeader(st transport.StatusResponse) error {
	down := make(map[uint64]bool)
	for _, n := range st.Nodes {
		down[n.ID] = !n.Up
	}
	for _, s := range st.Shards {
		if down[s.Leader] {
			return fmt.Errorf("status names node %d, which is down, as the leader of shard %d", s.Leader, s.ID)
		}
	}
	return nil
}

// roomsSettled waits until a live node's status shows every room shard
// where the placement wants it: 3 voters, the wanted ones, up, nothing
// non-voting, a live leader. A kill then tests the registry, not a room
// shard caught halfway through a move.
func (c *Cluster) roomsSettled(t *testing.T, what string) {
	t.Helper()
	waitFor(t, 3*settleTimeout, "rooms settled "+what, func() error {
		ctx, cancel := opContext()
		defer cancel()
		st, err := c.StatusOn(ctx, c.Live()[0])
		if err != nil {
			return err
		}
		up := make(map[uint64]bool)
		for _, n := range st.Nodes {
			up[n.ID] = n.Up
		}
		for _, s := range st.Shards[1:] {
			if len(s.Replicas) != 3 || len(s.NonVoting) > 0 || !sameIDs(s.Replicas, s.Wanted) || !up[s.Leader] {
				return fmt.Errorf("shard %d: voters %v non-voting %v wanted %v leader %d", s.ID, s.Replicas, s.NonVoting, s.Wanted, s.Leader)
			}
			for _, v := range s.Replicas {
				if !up[v] {
					return fmt.Errorf("shard %d: voter %d is down", s.ID, v)
				}
			}
		}
		return nil
	})
}

// sendsEverywhere sends one message to every room of rooms through a live
// node; each must be acknowledged.
func (c *Cluster) sendsEverywhere(t *testing.T, led *ledger, rooms []string, tag string) {
	t.Helper()
	live := c.Live()
	user := "rv-" + tag
	cl := c.DialVia(t, user, live[len(live)-1])
	for _, room := range rooms {
		led.mustSend(t, cl, user, room, user, 1)
	}
}

// TestRegistryVotersReplaced shows the registry's own voters following the
// nodes on 5 real processes and then some: a 6th node joins as a
// non-voting member (the registry stays at 5 voters); a registry voter
// killed with -9 is replaced, past dead-after, by the spare node; a 7th
// node joins; remove-node of a registry voter moves its vote to the spare
// before the voter goes; a second voter killed, the registry's leader,
// leaves 4 live nodes, all voters; the first one killed comes back and rejoins empty. Through it
// all the registry keeps a quorum, every room takes sends, and status
// names no node that is down as a leader and the dead ones as dead.
func TestRegistryVotersReplaced(t *testing.T) {
	c := startRegistryVoters(t)
	rooms := make([]string, regVotersShards)
	ring := placement.NewRing(placement.RoomShards(regVotersShards))
	for i, s := range placement.RoomShards(regVotersShards) {
		for j := 0; rooms[i] == ""; j++ {
			if r := fmt.Sprintf("rv-%d", j); ring.Shard(r) == s {
				rooms[i] = r
			}
		}
	}
	led := &ledger{}
	n := c.Nodes
	c.registryVoters(t, "5 nodes", n, nil)

	n6 := c.addNode(t)
	c.registryVoters(t, "a 6th node joined", n[:5], []*Node{n6})

	// Kill a registry voter (not n1, which admits joins): its leader if
	// that is not n1.
	victim := n[1]
	c.roomsSettled(t, "before the first kill")
	st := c.registryVoters(t, "before the first kill", n[:5], []*Node{n6})
	if l := c.NodeByID(st.Shards[0].Leader); l != nil && l != n[0] {
		victim = l
	}
	c.Kill(t, victim)
	alive := c.Live()
	// The dead voter's replica goes; it gets a new replica id, a
	// non-voting member it may come back to.
	c.registryVoters(t, "first voter killed", alive, []*Node{victim})
	c.sendsEverywhere(t, led, rooms, "after-kill-1")

	n7 := c.addNode(t)
	alive = slices.DeleteFunc(c.Live(), func(x *Node) bool { return x == n7 })
	c.registryVoters(t, "a 7th node joined", alive, []*Node{victim, n7})

	// remove-node a registry voter: the spare takes its vote, then it goes.
	var gone *Node
	for _, x := range alive[1:] {
		if x != n6 {
			gone = x
			break
		}
	}
	c.roomsSettled(t, "before remove-node")
	c.cli(t, "admin").mustRun(t, "", "admin", "remove-node", gone.Name)
	waitFor(t, 3*settleTimeout, gone.Name+" stops", func() error {
		if gone.Alive() {
			return fmt.Errorf("%s still runs", gone.Name)
		}
		return nil
	})
	c.Probes.Drop(gone)
	st = c.registryVoters(t, "a voter removed", c.Live(), []*Node{victim})
	c.sendsEverywhere(t, led, rooms, "after-remove")
	c.roomsSettled(t, "before the second kill")
	st = c.registryVoters(t, "before the second kill", c.Live(), []*Node{victim})

	// A second voter killed, the registry's leader this time: 4 live
	// nodes, all voters (a live voter is never demoted).
	second := c.NodeByID(st.Shards[0].Leader)
	if second == nil {
		t.Fatalf("registry leader %d is no node of the cluster", st.Shards[0].Leader)
	}
	c.Kill(t, second)
	c.registryVoters(t, "second voter killed", c.Live(), []*Node{victim, second})
	c.sendsEverywhere(t, led, rooms, "after-kill-2")

	// parley status: the killed nodes dead and down, leading nothing.
	waitFor(t, settleTimeout, "status shows the killed nodes dead", func() error {
		res := c.cli(t, "admin").run(t, "", "status", "--json")
		if res.code != 0 {
			return fmt.Errorf("status: exit %d: %s", res.code, res.stderr)
		}
		var out struct {
			Nodes []struct {
				ID      uint64 `json:"id"`
				Up      bool   `json:"up"`
				State   string `json:"state"`
				Leaders int    `json:"leaders"`
			} `json:"nodes"`
			Shards []struct {
				ID     uint64 `json:"id"`
				Leader uint64 `json:"leader"`
			} `json:"shards"`
		}
		if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
			return permanent(fmt.Errorf("status --json: %w: %s", err, res.stdout))
		}
		for _, k := range []*Node{victim, second} {
			for _, s := range out.Shards {
				if s.Leader == k.ID() {
					return fmt.Errorf("shard %d led by killed %s", s.ID, k)
				}
			}
			found := false
			for _, x := range out.Nodes {
				if x.ID == k.ID() {
					found = true
					if x.Up || x.State != "dead" || x.Leaders != 0 {
						return fmt.Errorf("killed %s listed up=%v state=%q leaders=%d", k, x.Up, x.State, x.Leaders)
					}
				}
			}
			if !found {
				return fmt.Errorf("killed %s not listed", k)
			}
		}
		return nil
	})

	// The first one killed comes back: it learns it was replaced, rejoins
	// the registry empty under its new replica id, and, the 5th live node,
	// is a voter again and takes its share of the rooms.
	c.Restart(t, victim)
	st = c.registryVoters(t, "the replaced node back", c.Live(), []*Node{second})
	waitFor(t, 3*settleTimeout, victim.Name+" takes room replicas again", func() error {
		ctx, cancel := opContext()
		defer cancel()
		st, err := c.StatusOn(ctx, c.Live()[0])
		if err != nil {
			return err
		}
		for _, x := range st.Nodes {
			if x.ID == victim.ID() && (!x.Up || x.Voters == 0) {
				return fmt.Errorf("%s: up %v, %d voters", victim, x.Up, x.Voters)
			}
		}
		return nil
	})
	c.sendsEverywhere(t, led, rooms, "after-rejoin")
	reportFailures(t, led)
}
