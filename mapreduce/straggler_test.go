package mapreduce_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// TestStragglerGetsBackup: one node scans very slowly; near the end of the
// map phase its task gets a backup attempt on another node, and the job
// gives the brute-force answer.
func TestStragglerGetsBackup(t *testing.T) {
	const slow = 3 // node id of the third server
	c := daemontest.StartCluster(t, 3, daemontest.Options{Configure: func(i int, cfg *daemon.Config) {
		if i == slow-1 {
			cfg.AnalyticsScanDelay = 100 * time.Millisecond
		}
	}})
	chat(t, c.Addr(0), 40)
	alice := dialUser(t, c.Addr(0), "alice")
	msgs := readable(t, alice)
	var slowHeld atomic.Bool
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := alice.Analytics(ctx, "messages-per-user", client.AnalyticsParams{Progress: func(p transport.AnalyticsProgress) {
		for _, r := range p.Running {
			if r.Node == slow && r.Maps > 0 {
				slowHeld.Store(true)
			}
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slowHeld.Load() {
		t.Fatalf("the slow node %d never ran a map task: the test proves nothing (progress %+v)", slow, res.Progress)
	}
	if want := bruteForce(t, "messages-per-user", client.AnalyticsParams{}, msgs); !slices.Equal(rowsOf(res), want) {
		t.Fatalf("got %v, want %v", rowsOf(res), want)
	}
	if res.Progress.Backups == 0 {
		t.Errorf("no backup attempt for the straggler: %+v", res.Progress)
	}
}

// TestLostMapOutputRunsAgain: a node whose map tasks have finished goes
// away before the reducers have read its output. Those finished tasks run
// again on another replica, and the answer stays right.
func TestLostMapOutputRunsAgain(t *testing.T) {
	const fast = 3 // node id of the third server; the others scan slowly
	c := daemontest.StartCluster(t, 3, daemontest.Options{Configure: func(i int, cfg *daemon.Config) {
		if i != fast-1 {
			cfg.AnalyticsScanDelay = 20 * time.Millisecond
		}
		// No backups: they would finish the slow tasks on the fast node.
		cfg.AnalyticsBackupAfter = time.Hour
	}})
	chat(t, c.Addr(0), 40)
	alice := dialUser(t, c.Addr(0), "alice")
	msgs := readable(t, alice)
	want := bruteForce(t, "messages-per-user", client.AnalyticsParams{}, msgs)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	held := make(chan transport.AnalyticsProgress, 1)
	var once atomic.Bool
	type result struct {
		res *client.AnalyticsResult
		err error
	}
	done := make(chan result, 1)
	go func() {
		res, err := alice.Analytics(ctx, "messages-per-user", client.AnalyticsParams{Progress: func(p transport.AnalyticsProgress) {
			for _, r := range p.Running {
				if r.Node == fast && r.Outputs > 0 && r.Maps == 0 && len(p.Running) > 1 && once.CompareAndSwap(false, true) {
					held <- p
				}
			}
		}})
		done <- result{res, err}
	}()
	select {
	case p := <-held:
		t.Logf("node %d holds finished map output while others still map: %+v", fast, p)
	case r := <-done:
		t.Fatalf("the job ended before node %d held finished output alone: %+v %v", fast, r.res, r.err)
	}
	c.Stop(fast - 1)
	r := <-done
	if r.err != nil {
		t.Fatal(r.err)
	}
	if got := rowsOf(r.res); !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	if r.res.Progress.Reruns == 0 {
		t.Errorf("no task ran again after node %d went away: %+v", fast, r.res.Progress)
	}
}
