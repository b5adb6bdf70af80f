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
