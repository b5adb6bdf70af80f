package e2e

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// analyticsChat sends perUser messages from each of four users into a few
// public rooms and returns every message alice may read, by history.
func analyticsChat(t *testing.T, c *Cluster, perUser int) []parley.Message {
	t.Helper()
	users := []string{"alice", "bob", "carol", "dave"}
	rooms := []string{"general", "random", "dev", "ops", "music", "books"}
	words := strings.Fields("raft quorum leader pizza coffee deploy rollback shard replica snapshot latency quic")
	var wg sync.WaitGroup
	for ui, u := range users {
		cl := c.Dial(t, u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perUser {
				ctx, cancel := opContext()
				text := fmt.Sprintf("%s %s %s", words[(i+ui)%len(words)], words[(i*7+ui)%len(words)], words[(i*3)%len(words)])
				_, err := cl.Send(ctx, rooms[(i+ui)%len(rooms)], text)
				cancel()
				if err != nil {
					t.Errorf("%s: send: %v", u, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	alice := c.Dial(t, "alice")
	var all []parley.Message
	for _, r := range rooms {
		ctx, cancel := opContext()
		msgs, err := alice.History(ctx, r, client.HistoryOptions{From: 1, Limit: 1 << 30})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, msgs...)
	}
	return all
}

// perUser is messages-per-user computed from history.
func perUser(msgs []parley.Message) map[string]int64 {
	out := map[string]int64{}
	for _, m := range msgs {
		if m.Kind == "" {
			out[m.User]++
		}
	}
	return out
}

func resultCounts(t *testing.T, res *client.AnalyticsResult) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, r := range res.Rows {
		n, err := client.Count(r)
		if err != nil {
			t.Fatal(err)
		}
		out[r.Key] = n
	}
	return out
}

// runUntil starts a messages-per-user job on cl and returns once the
// job's progress satisfies ready, with the progress seen and a channel
// that yields the job's result.
func runUntil(t *testing.T, cl *client.Client, ready func(transport.AnalyticsProgress) bool) (transport.AnalyticsProgress, <-chan jobResult) {
	t.Helper()
	seen := make(chan transport.AnalyticsProgress, 1)
	var once sync.Once
	out := make(chan jobResult, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		res, err := cl.Analytics(ctx, "messages-per-user", client.AnalyticsParams{Progress: func(p transport.AnalyticsProgress) {
			if ready(p) {
				once.Do(func() { seen <- p })
			}
		}})
		out <- jobResult{res, err}
	}()
	select {
	case p := <-seen:
		return p, out
	case r := <-out:
		t.Fatalf("the job ended before the fault could be injected: %v", r.err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the job never reached the wanted state")
	}
	return transport.AnalyticsProgress{}, nil
}

type jobResult struct {
	res *client.AnalyticsResult
	err error
}

// TestAnalyticsSurvivesKill: kill -9 of a node while it runs map tasks of
// a job, then of the job's coordinator. Both times the job finishes with
// the brute-force answer: the first by running the dead node's tasks on
// other replicas, the second by the SDK submitting the job once more.
func TestAnalyticsSurvivesKill(t *testing.T) {
	// Every scanned message takes 10 ms: a map task of a few hundred
	// messages runs for seconds, long enough to be caught.
	c := startCluster(t, "--analytics-scan-delay", "10ms")
	msgs := analyticsChat(t, c, 150)
	want := perUser(msgs)
	coord := c.Nodes[0]
	alice := c.DialVia(t, "alice", coord)
	if alice.Node().Addr != coord.Client {
		t.Fatalf("alice is not connected to %s", coord)
	}

	// A worker dies while it holds map tasks.
	p, result := runUntil(t, alice, func(p transport.AnalyticsProgress) bool {
		for _, r := range p.Running {
			if r.Node != p.Coordinator && r.Maps > 0 {
				return true
			}
		}
		return false
	})
	var victim *Node
	for _, r := range p.Running {
		if r.Node != p.Coordinator && r.Maps > 0 {
			victim = c.NodeByID(r.Node)
			t.Logf("%s runs %d map tasks of the job (progress %+v)", victim, r.Maps, p)
			break
		}
	}
	c.Kill(t, victim)
	r := <-result
	if r.err != nil {
		t.Fatalf("job after %s died: %v", victim, r.err)
	}
	if got := resultCounts(t, r.res); !maps.Equal(got, want) {
		t.Fatalf("after %s died: got %v, want %v", victim, got, want)
	}
	if r.res.Resubmitted {
		t.Errorf("the job was resubmitted, but its coordinator lived")
	}
	if r.res.Progress.Reruns == 0 {
		t.Errorf("no task ran again after %s died: %+v", victim, r.res.Progress)
	}

	// The coordinator dies: the SDK submits the job to another node.
	c.Restart(t, victim)
	c.WaitFormed(t)
	coord = c.Nodes[1]
	bob := c.DialVia(t, "bob", coord)
	if bob.Node().Addr != coord.Client {
		t.Fatalf("bob is not connected to %s", coord)
	}
	_, result = runUntil(t, bob, func(p transport.AnalyticsProgress) bool { return len(p.Running) > 0 })
	c.Kill(t, coord)
	r = <-result
	if r.err != nil {
		t.Fatalf("job after its coordinator %s died: %v", coord, r.err)
	}
	if got := resultCounts(t, r.res); !maps.Equal(got, want) {
		t.Fatalf("after the coordinator died: got %v, want %v", got, want)
	}
	if !r.res.Resubmitted {
		t.Errorf("the coordinator died, yet the job was not resubmitted")
	}
	t.Logf("users %v", slices.Sorted(maps.Keys(want)))
}

// TestAnalyticsSurvivesKillInReduce: kill -9 of a node (not the
// coordinator) while it holds reduce tasks of a job. Its reduce tasks, and
// the map tasks whose output died with it, run again on the nodes left,
// and the job gives the brute-force answer.
func TestAnalyticsSurvivesKillInReduce(t *testing.T) {
	// Every reduce task holds for 4 s before it finishes: long enough to
	// catch a node holding one.
	c := startCluster(t, "--analytics-reduce-delay", "4s")
	msgs := analyticsChat(t, c, 40)
	want := perUser(msgs)
	coord := c.Nodes[0]
	alice := c.DialVia(t, "alice", coord)
	if alice.Node().Addr != coord.Client {
		t.Fatalf("alice is not connected to %s", coord)
	}
	holdsReduce := func(p transport.AnalyticsProgress) *Node {
		for _, r := range p.Running {
			if r.Node != p.Coordinator && r.Reduces > 0 {
				return c.NodeByID(r.Node)
			}
		}
		return nil
	}
	p, result := runUntil(t, alice, func(p transport.AnalyticsProgress) bool { return holdsReduce(p) != nil })
	victim := holdsReduce(p)
	t.Logf("%s holds reduce tasks of the job (progress %+v)", victim, p)
	c.Kill(t, victim)
	r := <-result
	if r.err != nil {
		t.Fatalf("job after %s died: %v", victim, r.err)
	}
	if got := resultCounts(t, r.res); !maps.Equal(got, want) {
		t.Fatalf("after %s died in the reduce phase: got %v, want %v", victim, got, want)
	}
	if r.res.Resubmitted {
		t.Errorf("the job was resubmitted, but its coordinator lived")
	}
	if r.res.Progress.Reruns == 0 {
		t.Errorf("no task ran again after %s died: %+v", victim, r.res.Progress)
	}
}
