package e2e

import (
	"testing"
	"time"
)

// Shape of the load in the failover tests.
const (
	loadWorkers = 4
	// ackedBeforeFault is how many sends the load must have had
	// acknowledged before the fault, so that it strikes mid-stream.
	ackedBeforeFault = 60
	// ackedDuringFault is how many sends to the faulted room must be
	// acknowledged after the fault before the test moves on.
	ackedDuringFault = 40
	// pauseAtLeast is how long a stopped leader stays stopped: longer than
	// the QUIC idle timeout (6 s), so that its clients give up on it.
	pauseAtLeast = 8 * time.Second
)

// TestFailover injects faults while several SDK clients send continuously
// into a few rooms, on one cluster, and after each checks that every
// acknowledged send is stored exactly once, that no message id appears twice
// and that every room's history is gapless and identical on every node:
//
//   - leader_killed: kill -9 the leader of a busy room's shard mid-stream;
//   - leader_stopped: SIGSTOP that leader for several seconds, then SIGCONT;
//   - subscribe_from_seq, subscriber_node_killed: see TestFailover's
//     subscription steps in subscribe_test.go.
func TestFailover(t *testing.T) {
	c := startCluster(t)
	t.Run("leader_killed", func(t *testing.T) { leaderKilledUnderLoad(t, c) })
	t.Run("leader_stopped", func(t *testing.T) { leaderStoppedUnderLoad(t, c) })
	t.Run("subscribe_from_seq", func(t *testing.T) { subscribeFromSeq(t, c) })
	t.Run("subscriber_node_killed", func(t *testing.T) { subscriberNodeKilled(t, c) })
}

// leaderKilledUnderLoad kills -9 the leader of the busiest room's shard
// while four clients send, keeps sending until the room has taken more
// messages, restarts the node and checks every promise. Acknowledged
// messages are then sent again with their ids: each must come back as a
// duplicate of the original.
func leaderKilledUnderLoad(t *testing.T, c *Cluster) {
	rooms := []string{"kill-busy", "kill-b", "kill-c"}
	led := &ledger{}
	start := time.Now()
	ld := startLoad(t, c, led, "killer", rooms, loadWorkers)
	ld.waitAcked(t, "", start, ackedBeforeFault)

	victim := c.LeaderOf(t, ShardOf(rooms[0]))
	killedAt := time.Now()
	c.Kill(t, victim)
	ld.waitAcked(t, rooms[0], killedAt, ackedDuringFault)
	ld.waitAcked(t, "", killedAt, 3*ackedDuringFault)
	ld.Stop()
	logLoad(t, led, killedAt)
	reportFailures(t, led)

	c.Restart(t, victim)
	c.WaitFormed(t)
	checkCluster(t, c, led)
	checkResendIsDuplicate(t, c, led, 25)
	checkCluster(t, c, led)
}

// leaderStoppedUnderLoad stops the leader of the busiest room's shard with
// SIGSTOP while four clients send, waits until the others have taken over
// that room and the stop has outlasted the QUIC idle timeout, continues it,
// keeps sending, and checks every promise.
func leaderStoppedUnderLoad(t *testing.T, c *Cluster) {
	rooms := []string{"stop-busy", "stop-b", "stop-c"}
	led := &ledger{}
	start := time.Now()
	ld := startLoad(t, c, led, "stopper", rooms, loadWorkers)
	ld.waitAcked(t, "", start, ackedBeforeFault)

	victim := c.LeaderOf(t, ShardOf(rooms[0]))
	stoppedAt := time.Now()
	c.Pause(t, victim)
	ld.waitAcked(t, rooms[0], stoppedAt, ackedDuringFault)
	// The length of the fault, not a synchronisation: a stopped node must
	// stay stopped long enough for its connections to time out.
	if rest := pauseAtLeast - time.Since(stoppedAt); rest > 0 {
		time.Sleep(rest)
	}
	c.Resume(t, victim)
	resumedAt := time.Now()
	ld.waitAcked(t, "", resumedAt, 3*ackedDuringFault)
	ld.Stop()
	logLoad(t, led, stoppedAt)
	reportFailures(t, led)

	c.WaitFormed(t)
	checkCluster(t, c, led)
}

// logLoad logs how many sends were acknowledged in all and after the
// fault, and how many acknowledgements were of retried sends.
func logLoad(t *testing.T, led *ledger, fault time.Time) {
	t.Helper()
	acked, failed := led.counts()
	dups := 0
	for _, r := range led.snapshot() {
		if r.Duplicate {
			dups++
		}
	}
	t.Logf("load: %d sends acknowledged (%d after the fault, %d as duplicates of a retried send), %d failed",
		acked, led.ackedSince("", fault), dups, failed)
}
