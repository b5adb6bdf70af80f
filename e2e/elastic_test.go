package e2e

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/internal/proccluster"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// The elastic cluster's shape: 5 nodes, 16 room shards, 3 voters each.
const (
	elasticSize   = 5
	elasticShards = 16
	elasticR      = 3
	// elasticDeadAfter is short, so the test waits past it.
	elasticDeadAfter = 8 * time.Second
	// elasticRate is the load's messages per second over all rooms.
	elasticRate = 500
)

// startElastic starts the elastic cluster; "admin" logs in first, so it is
// the cluster's admin.
func startElastic(t *testing.T) *Cluster {
	t.Helper()
	c := &Cluster{Root: t.TempDir()}
	pc, err := proccluster.Start(proccluster.Config{
		Parleyd: parleydBin, Dir: c.Root, Size: elasticSize, Profile: "small", Shards: elasticShards,
		Args:     []string{"--replicas", fmt.Sprint(elasticR), "--dead-after", elasticDeadAfter.String()},
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
	c.Dial(t, "admin") // the first account: the admin
	c.Probes = proccluster.NewProbes(func(ctx context.Context, n *Node) (*client.Client, error) {
		return c.dial(ctx, "probe", []string{n.Client})
	})
	return c
}

// addNode starts one more node, joining through n1.
func (c *Cluster) addNode(t *testing.T) *Node {
	t.Helper()
	n, err := c.Config.NewNode(fmt.Sprintf("n%d", len(c.Nodes)+1), "--join", c.Nodes[0].Client, "--token", c.Token)
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes = append(c.Nodes, n)
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if err := waitHealthy(n, startTimeout); err != nil {
		t.Fatal(err)
	}
	return n
}

// placementView is the room shards' voters, as one node's status says.
type placementView map[uint64][]uint64

// settledStatus waits until a live node's status shows the placement
// settled over the listed nodes: want nodes listed; every room shard with
// R voters, all up, nothing non-voting, no move in progress, a live leader;
// leaders spread S/N ± 1 over the up nodes. It returns that status.
func (c *Cluster) settledStatus(t *testing.T, want int) transport.StatusResponse {
	t.Helper()
	var st transport.StatusResponse
	waitFor(t, 3*settleTimeout, "placement settled", func() error {
		ctx, cancel := opContext()
		defer cancel()
		live := c.Live()
		var err error
		if st, err = c.StatusOn(ctx, live[0]); err != nil {
			return err
		}
		if len(st.Nodes) != want {
			return fmt.Errorf("%d nodes listed, want %d", len(st.Nodes), want)
		}
		up := make(map[uint64]bool)
		for _, n := range st.Nodes {
			up[n.ID] = n.Up
		}
		for _, s := range st.Shards[1:] {
			if len(s.Replicas) != elasticR || len(s.NonVoting) > 0 || !sameIDs(s.Replicas, s.Wanted) || !up[s.Leader] {
				return fmt.Errorf("shard %d: voters %v non-voting %v wanted %v leader %d", s.ID, s.Replicas, s.NonVoting, s.Wanted, s.Leader)
			}
			for _, v := range s.Replicas {
				if !up[v] {
					return fmt.Errorf("shard %d: voter %d is down", s.ID, v)
				}
			}
		}
		ideal := float64(elasticShards) / float64(want)
		for _, n := range st.Nodes {
			if math.Abs(float64(n.Leaders)-ideal) > 1 {
				return fmt.Errorf("node %d leads %d shards, want %.1f ± 1", n.ID, n.Leaders, ideal)
			}
		}
		return nil
	})
	return st
}

func sameIDs(a, b []uint64) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}

func placementOf(st transport.StatusResponse) placementView {
	out := make(placementView)
	for _, s := range st.Shards[1:] {
		out[s.ID] = s.Replicas
	}
	return out
}

func moved(before, after placementView) int {
	return placement.Moved(before, after)
}

// pacedLoad sends rate messages a second over rooms, from workers clients
// connected round robin to the nodes, into the ledger, until stopped.
type pacedLoad struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func startPacedLoad(t *testing.T, c *Cluster, led *ledger, rooms []string, workers, rate int) *pacedLoad {
	t.Helper()
	l := &pacedLoad{stop: make(chan struct{})}
	every := time.Duration(workers) * time.Second / time.Duration(rate)
	for g := range workers {
		user := fmt.Sprintf("el%d", g)
		cl := c.DialVia(t, user, c.Nodes[g%len(c.Nodes)])
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			tick := time.NewTicker(every) // the load's pace, not synchronisation
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				case <-tick.C:
				}
				ctx, cancel := context.WithTimeout(context.Background(), sendTimeout)
				led.send(ctx, cl, user, rooms[(g+i)%len(rooms)], fmt.Sprintf("el-w%d-m%d", g, i))
				cancel()
			}
		}()
	}
	t.Cleanup(l.Stop)
	return l
}

// Stop stops the senders and waits for their last sends.
func (l *pacedLoad) Stop() {
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	l.wg.Wait()
}

// TestElasticCluster shows the elastic cluster's promises on 5 real
// processes: placement spread, then under a steady load a join, a
// remove-node, a death past dead-after and a second death, with no
// acknowledged message lost or duplicated and every room identical on its
// replicas.
func TestElasticCluster(t *testing.T) {
	c := startElastic(t)
	st := c.settledStatus(t, elasticSize)
	for _, n := range st.Nodes {
		ideal := float64(elasticR*elasticShards) / elasticSize
		if math.Abs(float64(n.Voters)-ideal) > 2 || n.Voters >= elasticShards {
			t.Fatalf("node %d holds %d voters, want %.1f ± 2 and not every shard", n.ID, n.Voters, ideal)
		}
	}
	t.Logf("5 nodes: voters and leaders per node %s", perNode(st))

	// A non-admin's remove-node is forbidden and changes nothing.
	c.Dial(t, "eve")
	res := c.cli(t, "eve").run(t, "", "admin", "remove-node", "n2")
	if res.code != 1 || !strings.Contains(res.stderr, "forbidden") {
		t.Fatalf("eve's remove-node: exit %d, stderr %q; want 1 and forbidden", res.code, res.stderr)
	}

	rooms := make([]string, elasticShards)
	ring := placement.NewRing(placement.RoomShards(elasticShards))
	for i, s := range placement.RoomShards(elasticShards) {
		for j := 0; rooms[i] == ""; j++ {
			if r := fmt.Sprintf("el-%d", j); ring.Shard(r) == s {
				rooms[i] = r
			}
		}
	}
	// A subscriber on n5 to a room whose shard n5 does not host: its node
	// relays one upstream subscription.
	x := c.Nodes[4]
	var subRoom string
	for _, s := range st.Shards[1:] {
		if !slices.Contains(s.Replicas, x.ID()) && subRoom == "" {
			for _, r := range rooms {
				if ring.Shard(r) == s.ID {
					subRoom = r
				}
			}
		}
	}
	if subRoom == "" {
		t.Fatalf("n5 hosts every shard")
	}
	watcher := c.DialVia(t, "watcher", x)
	sctx, stopSub := context.WithCancel(context.Background())
	defer stopSub()
	sub, err := watcher.Subscribe(sctx, subRoom, 0)
	if err != nil {
		t.Fatal(err)
	}
	var (
		subMu   sync.Mutex
		subMsgs []parley.Message
		// subAt is when each of subMsgs arrived: the pause around the
		// upstream's death is measured, not asserted.
		subAt []time.Time
	)
	subDone := make(chan struct{})
	go func() {
		defer close(subDone)
		for m := range sub.C() {
			subMu.Lock()
			subMsgs = append(subMsgs, m)
			subAt = append(subAt, time.Now())
			subMu.Unlock()
		}
	}()

	led := &ledger{}
	load := startPacedLoad(t, c, led, rooms, 16, elasticRate)
	step := func(name string, before placementView, ideal int, want int) transport.StatusResponse {
		st := c.settledStatus(t, want)
		t.Logf("%s: %d replicas moved, ideal %d; per node %s", name, moved(before, placementOf(st)), ideal, perNode(st))
		return st
	}

	// Join: a 6th node takes its share.
	before := placementOf(st)
	c.addNode(t)
	st = step("join", before, elasticR*elasticShards/6, 6)

	// Remove n2 with remove-node: it drains, then stops and says why.
	before = placementOf(st)
	n2 := c.Nodes[1]
	held := 0
	for _, vs := range before {
		if slices.Contains(vs, n2.ID()) {
			held++
		}
	}
	c.cli(t, "admin").mustRun(t, "", "admin", "remove-node", "n2")
	waitFor(t, 3*settleTimeout, "n2 stops", func() error {
		if n2.Alive() {
			return fmt.Errorf("n2 still runs")
		}
		return nil
	})
	c.Probes.Drop(n2)
	st = step("remove-node", before, held, 5)

	// Death: the node leading the watched room's shard (the relay's
	// upstream) killed, n3 if that is n1 or n5 hosts it now; past
	// dead-after its replicas are re-created.
	before = placementOf(st)
	n3 := c.Nodes[2]
	for _, s := range st.Shards[1:] {
		if s.ID == ring.Shard(subRoom) {
			if l := c.NodeByID(s.Leader); l != nil && l != c.Nodes[0] && !slices.Contains(s.Replicas, x.ID()) {
				n3 = l
				t.Logf("killing %s, the upstream of %s's subscription to %s", l, x, subRoom)
			}
		}
	}
	held = 0
	for _, vs := range before {
		if slices.Contains(vs, n3.ID()) {
			held++
		}
	}
	c.Kill(t, n3)
	killedAt := time.Now()
	waitFor(t, 3*settleTimeout, "every shard back to 3 live voters", func() error {
		ctx, cancel := opContext()
		defer cancel()
		st, err := c.StatusOn(ctx, c.Live()[0])
		if err != nil {
			return err
		}
		for _, s := range st.Shards[1:] {
			if len(s.Replicas) != elasticR || slices.Contains(s.Replicas, n3.ID()) || len(s.NonVoting) > 0 {
				return fmt.Errorf("shard %d: voters %v non-voting %v", s.ID, s.Replicas, s.NonVoting)
			}
		}
		return nil
	})
	ctx, cancel := opContext()
	st, err = c.StatusOn(ctx, c.Live()[0])
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("death: %d replicas re-created, ideal %d", moved(before, placementOf(st)), held)

	// A second death: every room still takes sends.
	victim := c.Live()[1]
	c.Kill(t, victim)
	since := time.Now()
	for _, room := range rooms {
		waitFor(t, settleTimeout, "sends to "+room+" after the second death", func() error {
			if led.ackedSince(room, since) == 0 {
				return fmt.Errorf("none acknowledged yet")
			}
			return nil
		})
	}
	load.Stop()
	loadStopped := time.Now()
	reportFailures(t, led)
	// The watcher got every message of its room once, in order.
	wantLast := uint64(0)
	for _, r := range led.snapshot() {
		if r.Room == subRoom && r.Acked {
			wantLast = max(wantLast, r.Seq)
		}
	}
	waitFor(t, settleTimeout, "the watcher's last message", func() error {
		select {
		case <-subDone:
			return permanent(fmt.Errorf("subscription ended: %v", sub.Err()))
		default:
		}
		subMu.Lock()
		got := uint64(0)
		if len(subMsgs) > 0 {
			got = subMsgs[len(subMsgs)-1].Seq
		}
		subMu.Unlock()
		if got < wantLast {
			return fmt.Errorf("at seq %d of %d", got, wantLast)
		}
		return nil
	})
	stopSub()
	<-subDone
	for i := 1; i < len(subMsgs); i++ {
		if subMsgs[i].Seq != subMsgs[i-1].Seq+1 {
			t.Fatalf("the watcher got seq %d after %d: a gap or a duplicate", subMsgs[i].Seq, subMsgs[i-1].Seq)
		}
	}
	t.Logf("the watcher on %s got seqs %d..%d of %s, in order, once", x, subMsgs[0].Seq, subMsgs[len(subMsgs)-1].Seq, subRoom)
	window := min(15*time.Second, since.Sub(killedAt))
	window2 := min(15*time.Second, loadStopped.Sub(since))
	t.Logf("the watcher's longest pause: %v in the %v after its upstream's kill, %v in the %v after the second kill",
		longestPause(subAt, killedAt, window), window.Round(time.Millisecond),
		longestPause(subAt, since, window2), window2.Round(time.Millisecond))
	waitFor(t, 3*settleTimeout, "every shard on live voters again", func() error {
		ctx, cancel := opContext()
		defer cancel()
		st, err := c.StatusOn(ctx, c.Live()[0])
		if err != nil {
			return err
		}
		for _, s := range st.Shards[1:] {
			if len(s.Replicas) != elasticR || slices.Contains(s.Replicas, victim.ID()) || len(s.NonVoting) > 0 {
				return fmt.Errorf("shard %d: voters %v non-voting %v", s.ID, s.Replicas, s.NonVoting)
			}
		}
		return nil
	})

	// Every room: gapless, every acknowledged send once, identical on its
	// live voters.
	ctx, cancel = opContext()
	st, err = c.StatusOn(ctx, c.Live()[0])
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	recs := led.snapshot()
	for _, room := range rooms {
		var hosts []*Node
		for _, s := range st.Shards {
			if s.ID == ring.Shard(room) {
				for _, id := range s.Replicas {
					if n := c.NodeByID(id); n != nil && n.Alive() {
						hosts = append(hosts, n)
					}
				}
			}
		}
		var mine []sendRecord
		for _, r := range recs {
			if r.Room == room {
				mine = append(mine, r)
			}
		}
		hist := checkRoom(t, c, hosts, room, mine)
		if room == subRoom {
			for _, m := range subMsgs {
				if m.Seq < 1 || m.Seq > uint64(len(hist)) || hist[m.Seq-1].ID != m.ID {
					t.Fatalf("the watcher's seq %d is not the room's", m.Seq)
				}
			}
		}
	}
	acked, failed := led.counts()
	t.Logf("%d sends acknowledged, %d failed", acked, failed)
}

// perNode renders each node's voters and leaders: "1:10/3 2:9/4 …".
func perNode(st transport.StatusResponse) string {
	var parts []string
	for _, n := range st.Nodes {
		parts = append(parts, fmt.Sprintf("%d:%d/%d", n.ID, n.Voters, n.Leaders))
	}
	return strings.Join(parts, " ")
}

// longestPause returns the longest time between two arrivals in at (and
// from start to the first) within window after start.
func longestPause(at []time.Time, start time.Time, window time.Duration) time.Duration {
	var longest time.Duration
	prev := start
	for _, a := range at {
		if a.Before(start) {
			continue
		}
		if a.After(start.Add(window)) {
			break
		}
		longest = max(longest, a.Sub(prev))
		prev = a
	}
	return longest
}
