package faults

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/proc"
)

// parleydBin is the parleyd binary TestMain builds.
var parleydBin string

// TestMain re-executes the test binary in a network namespace of its own
// (see Reexec), builds parleyd, and runs the tests there.
func TestMain(m *testing.M) {
	code, reexeced, err := Reexec()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	if reexeced {
		os.Exit(code)
	}
	dir, err := os.MkdirTemp("", "parley-faults-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir+"/", "../cmd/parleyd")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: cannot build parleyd: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	parleydBin = filepath.Join(dir, "parleyd")
	code = m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// envDuration reads a duration from the environment, def if unset.
func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return d
}

// TestFaults runs clients against a 3-node cluster while the nemesis kills,
// freezes and restarts nodes, partitions them, drops and delays packets,
// then checks the history with porcupine and compares every replica.
// PARLEY_FAULTS_DURATION sets how long the faults go on (default 40s;
// make soak sets minutes), PARLEY_FAULTS_SEED the nemesis's seed.
func TestFaults(t *testing.T) {
	duration := envDuration(t, "PARLEY_FAULTS_DURATION", 40*time.Second)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("PARLEY_FAULTS_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("PARLEY_FAULTS_SEED=%q: %v", s, err)
		}
	}
	t.Logf("faults for %v, seed %d (PARLEY_FAULTS_SEED)", duration, seed)
	ctx, cancel := context.WithTimeout(context.Background(), duration+5*time.Minute)
	defer cancel()

	c, err := StartCluster(ctx, parleydBin, t.TempDir(), 3, 8)
	if c != nil {
		defer c.Close()
		t.Cleanup(func() {
			if t.Failed() {
				for _, n := range c.Nodes {
					t.Logf("--- %s log, last lines:\n%s", n.Name, proc.Tail(n.Log, 40))
				}
			}
		})
	}
	if err != nil {
		t.Fatalf("start cluster: %v", err)
	}
	if err := Poll(ctx, func() error { return c.Formed(ctx) }); err != nil {
		t.Fatalf("cluster not formed: %v", err)
	}
	t.Log("cluster formed")

	h := NewHistory()
	w := &Workload{Cluster: c, History: h, Workers: 4, RoomsPerEpoch: 3, Epoch: 20 * time.Second, OpTimeout: 5 * time.Second}
	m := &Nemesis{Cluster: c, Hold: 6 * time.Second, Gap: 3 * time.Second, Logf: t.Logf}
	runCtx, stopRun := context.WithTimeout(ctx, duration)
	defer stopRun()
	subCtx, stopSubs := context.WithCancel(ctx)
	defer func() {
		stopSubs()
		w.Wait()
	}()
	var wg sync.WaitGroup
	var nemesisErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		nemesisErr = m.Run(runCtx, rand.New(rand.NewPCG(seed, seed>>1)))
	}()
	workErr := w.Run(runCtx, subCtx)
	wg.Wait()
	if workErr != nil {
		t.Fatalf("workload: %v", workErr)
	}
	if nemesisErr != nil {
		t.Fatalf("nemesis: %v", nemesisErr)
	}
	acked, unknown, reads := h.Counts()
	t.Logf("ran %d operations: %d sends acknowledged, %d of unknown outcome, %d reads; %s",
		acked+unknown+reads, acked, unknown, reads, m.Summary())

	// Every fault is repaired: the cluster must come back whole.
	for _, n := range c.Nodes {
		if err := c.WaitHealthy(ctx, n); err != nil {
			t.Fatalf("after the faults: %v", err)
		}
	}
	if err := Poll(ctx, func() error { return c.Formed(ctx) }); err != nil {
		t.Fatalf("cluster not whole again after the faults: %v", err)
	}
	sends := h.Sends()
	feeds := w.Feeds()
	lostUnknown := 0
	for _, room := range w.Rooms() {
		logs := map[string][]parley.Message{}
		for _, n := range c.Nodes {
			var msgs []parley.Message
			err := Poll(ctx, func() error {
				call := h.Now()
				var err error
				msgs, err = c.Probes.HistoryOn(ctx, n, room)
				if err == nil {
					h.RecordRead(w.Workers, room, call, msgs)
				}
				return err
			})
			if err != nil {
				t.Fatalf("read %s on %s: %v", room, n.Name, err)
			}
			logs[n.Name] = msgs
		}
		if err := CheckReplicas(room, logs); err != nil {
			t.Error(err)
			continue
		}
		log := logs[c.Nodes[0].Name]
		lost, err := CheckSends(room, log, sends)
		if err != nil {
			t.Error(err)
		}
		lostUnknown += lost
		f := feeds[room]
		err = Poll(ctx, func() error {
			if err := CheckFeed(room, f.Messages(), log); err != nil {
				if ferr := f.Err(); ferr != nil {
					return Permanent(fmt.Errorf("%w (the subscription ended: %v)", err, ferr))
				}
				return err
			}
			return nil
		})
		if err != nil {
			t.Error(err)
		}
	}
	t.Logf("%d rooms: replicas agree; %d sends of unknown outcome were not applied", len(w.Rooms()), lostUnknown)
	binDir, err := filepath.Abs(filepath.Join("..", "bin", "faults"))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckLinearizable(h.Ops(), 2*time.Minute, binDir); err != nil {
		t.Error(err)
	} else {
		t.Logf("porcupine: the history of %d operations is linearizable", len(h.Ops()))
	}
}
