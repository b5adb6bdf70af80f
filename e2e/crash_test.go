package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestCrashRecovery kills nodes with SIGKILL and restarts them with the same
// arguments, on one cluster, in three steps that each check every promise
// on every node afterwards:
//
//   - kill_follower: kill -9 a node that does not lead the room's shard;
//   - kill_leader: kill -9 the leader of the room's shard;
//   - kill_all: kill -9 all three nodes at once, under load, and restart
//     them all.
//
// In the first two, the messages acknowledged before the kill must be on
// both survivors, sends must go on with two nodes of three (through a client
// that was connected to the killed node), and the restarted node must catch
// up with everything.
func TestCrashRecovery(t *testing.T) {
	c := startCluster(t)
	led := &ledger{}
	t.Run("kill_follower", func(t *testing.T) { killOneNode(t, c, led, "crash-follower", false) })
	t.Run("kill_leader", func(t *testing.T) { killOneNode(t, c, led, "crash-leader", true) })
	t.Run("kill_all", func(t *testing.T) { killAllNodes(t, c, led) })
}

// killOneNode kills -9 the leader of room's shard (or, if !leader, another
// node), then restarts it.
func killOneNode(t *testing.T, c *Cluster, led *ledger, room string, leader bool) {
	shard := ShardOf(room)
	victim := c.LeaderOf(t, shard)
	if !leader {
		victim = c.Others(victim)[0]
	}
	t.Logf("room %s is on shard %d; victim %s (leader: %v)", room, shard, victim, leader)
	user := room + "-writer"
	cl := c.DialVia(t, user, victim)
	led.mustSend(t, cl, user, room, "before", 30)

	c.Kill(t, victim)
	survivors := c.Others(victim)
	checkNodes(t, c, survivors, led)

	// Two of three nodes are a quorum: sends go on, and the client that
	// was connected to the victim fails over by itself.
	led.mustSend(t, cl, user, room, "during", 30)
	checkNodes(t, c, survivors, led)
	if got := cl.Node().Addr; got == victim.Client {
		t.Errorf("the writer's client still reports the killed node %s", got)
	}

	c.Restart(t, victim)
	c.WaitFormed(t)
	checkCluster(t, c, led)
	led.mustSend(t, cl, user, room, "after", 10)
	checkCluster(t, c, led)
}

// killAllNodes kills -9 every node at once while four clients send, restarts
// them all, and checks that every message acknowledged before, in every
// room, is on every node. Sends in flight during the outage are retried by
// the SDK until the cluster is back, so they too must be acknowledged.
func killAllNodes(t *testing.T, c *Cluster, led *ledger) {
	cl := c.Dial(t, "crash-all-writer")
	for i := 0; i < 3; i++ {
		led.mustSend(t, cl, "crash-all-writer", fmt.Sprintf("crash-all-%d", i), "before", 15)
	}
	start := time.Now()
	ld := startLoad(t, c, led, "crashall", []string{"crash-all-0", "crash-all-1", "crash-all-2"}, loadWorkers)
	ld.waitAcked(t, "", start, ackedBeforeFault)
	for _, n := range c.Nodes {
		c.Kill(t, n)
	}
	killedAt := time.Now()
	// Start all before waiting for any: a node may need a quorum to start.
	for _, n := range c.Nodes {
		c.start(t, n)
	}
	for _, n := range c.Nodes {
		if err := waitHealthy(n, startTimeout); err != nil {
			t.Fatal(err)
		}
	}
	ld.waitAcked(t, "", killedAt, ackedDuringFault)
	ld.Stop()
	logLoad(t, led, killedAt)
	reportFailures(t, led)
	c.WaitFormed(t)
	checkCluster(t, c, led)

	// The restarted cluster takes writes again, continuing every room's
	// seqs.
	for i := 0; i < 3; i++ {
		led.mustSend(t, cl, "crash-all-writer", fmt.Sprintf("crash-all-%d", i), "after", 5)
	}
	checkCluster(t, c, led)
}
