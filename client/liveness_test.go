package client

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

func TestProbeTimes(t *testing.T) {
	for _, c := range []struct {
		interval, timeout time.Duration
		every, dead       time.Duration
		bad               bool
	}{
		{0, 0, DefaultProbeInterval, DefaultProbeMisses * DefaultProbeInterval, false},
		{time.Second, 0, time.Second, DefaultProbeMisses * time.Second, false},
		{time.Second, 5 * time.Second, time.Second, 5 * time.Second, false},
		{0, time.Second, DefaultProbeInterval, time.Second, false},
		{-1, 0, 0, 0, false},
		{-1, time.Second, 0, 0, false},
		{time.Second, time.Second, 0, 0, true},
		{time.Second, 500 * time.Millisecond, 0, 0, true},
		{0, -time.Second, 0, 0, true},
	} {
		every, dead, err := probeTimes(Options{ProbeInterval: c.interval, ProbeTimeout: c.timeout})
		if (err != nil) != c.bad || every != c.every || dead != c.dead {
			t.Errorf("interval %v, timeout %v: %v, %v, %v; want %v, %v, error %v",
				c.interval, c.timeout, every, dead, err, c.every, c.dead, c.bad)
		}
	}
	if _, err := Dial(t.Context(), Options{Servers: []string{"127.0.0.1:1"}, User: "alice", ProbeInterval: time.Second, ProbeTimeout: time.Second}); err == nil {
		t.Fatal("Dial with a probe timeout no longer than its interval: no error")
	}
}

// TestHeardReader: every read that returns data ends the silence, an
// empty one does not.
func TestHeardReader(t *testing.T) {
	lv := newLiveness()
	lv.heard.Store(-int64(time.Hour)) // silent for an hour
	r := lv.reader(io.MultiReader(&bytes.Buffer{}, bytes.NewReader([]byte("x"))))
	if _, err := r.Read(make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	if s := lv.silence(); s > time.Minute {
		t.Fatalf("silence %v after a read of one byte", s)
	}
	lv.heard.Store(-int64(time.Hour))
	if n, err := r.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Fatalf("read past the end: %d, %v", n, err)
	}
	if s := lv.silence(); s < time.Hour {
		t.Fatalf("silence %v after a read of nothing, want an hour", s)
	}
}

// TestProbeGivesUpSilentNode: the node stops answering without closing the
// connection (all its packets lost, as with kill -9 or a pulled cable).
// The probe gives it up long before QUIC's idle timeout would, and the
// Client carries on on another node: messages committed meanwhile reach
// the subscription once each, in order, and the sends made meanwhile are
// each committed once.
func TestProbeGivesUpSilentNode(t *testing.T) {
	cl := startCluster(t, 3)
	fn := installFaultNet(t)
	c, rec, states := watched(t, cl.Addr(0), nil)
	poster := dial(t, options(t, cl.Addr(1)))
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	all := send(t, c, "general", 3)
	receive(t, sub, 1, 3)

	victim := c.Node().Addr
	if victim == poster.Node().Addr {
		t.Fatalf("poster and client both on %s", victim)
	}
	cut := time.Now()
	fn.cut(victim, dropAll)
	// While the node is silent, another client's messages are committed,
	// and this client's sends wait for the reconnect.
	var wg sync.WaitGroup
	var mine []SendResult
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 3 {
			r, err := c.Send(ctx, "general", fmt.Sprintf("during %d", i))
			if err != nil {
				t.Errorf("send %d: %v", i, err)
				return
			}
			mine = append(mine, r)
		}
	}()
	all = append(all, send(t, poster, "general", 3)...)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	all = append(all, mine...)
	receive(t, sub, 4, 6)
	quiet(t, sub)
	msgs, err := c.History(ctx, "general", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, all)

	idle := transport.QUICConfig().MaxIdleTimeout
	lost := rec.find("connection lost; reconnecting")
	if len(lost) != 1 {
		t.Fatalf("%d reconnects, want 1", len(lost))
	}
	if err := errOf(lost[0]); !errors.Is(err, errNodeSilent) {
		t.Fatalf("connection lost with %v, want %v", err, errNodeSilent)
	}
	conns := rec.find("connected")
	if len(conns) != 2 {
		t.Fatalf("%d connections, want 2", len(conns))
	}
	noticed, resumed := lost[0].Time.Sub(cut), conns[1].Time.Sub(cut)
	t.Logf("silent node given up after %v, another connected after %v", noticed, resumed)
	if resumed >= idle {
		t.Fatalf("reconnected %v after the node went silent, not before the QUIC idle timeout (%v)", resumed, idle)
	}
	if c.Node().Addr == victim {
		t.Fatalf("still connected to %s", victim)
	}
	if got := states.get(); !slices.Equal(got, []State{Connected, Reconnecting, Reconnected}) {
		t.Fatalf("states %s", stateNames(got))
	}
}

// TestProbeKeepsIdleConnection: a healthy connection with nothing to say
// is pinged, interval after interval, and kept. The node's rate limit is
// far below the ping rate: pings must not count against it, or they
// would be refused and the connection's requests held back.
func TestProbeKeepsIdleConnection(t *testing.T) {
	const intervals = 10
	cl := startCluster(t, 1, daemontest.Options{Shards: 2, Configure: func(_ int, cfg *daemon.Config) {
		cfg.RequestsPerSecond = 1 // bursts of 2, against 8 pings a second
	}})
	fn := installFaultNet(t)
	c, rec, states := watched(t, cl.Addr(0), nil)
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	waitFor(t, 30*time.Second, func() error {
		if n := cn.pongs.Load(); n < intervals {
			return fmt.Errorf("%d pings answered", n)
		}
		return nil
	})
	c.mu.Lock()
	same := c.conn == cn
	c.mu.Unlock()
	if !same {
		t.Fatal("the idle connection was replaced")
	}
	if lost := rec.find("connection lost; reconnecting"); len(lost) > 0 {
		t.Fatalf("idle connection given up: %v", errOf(lost[0]))
	}
	if refused := rec.find("ping refused"); len(refused) > 0 {
		t.Fatalf("ping refused: %v", errOf(refused[0]))
	}
	if n := fn.dialed(cl.Addr(0)); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
	if got := states.get(); !slices.Equal(got, []State{Connected}) {
		t.Fatalf("states %s", stateNames(got))
	}
	// The connection and its subscription work, and the pings left the
	// rate budget alone: the send is not refused.
	r, err := c.Send(ctx, "general", "still here")
	if err != nil {
		t.Fatal(err)
	}
	receive(t, sub, r.Seq, 1)
	if retries := rec.find("retrying"); len(retries) > 0 {
		t.Fatalf("send retried: %v", errOf(retries[0]))
	}
}

// TestProbeQuietWhileBusy: a connection that keeps hearing from its node,
// by responses or by subscription data alone, sends no ping. The interval
// is long enough that a loaded machine never goes that long between two
// answers.
func TestProbeQuietWhileBusy(t *testing.T) {
	const (
		interval  = time.Second
		intervals = 3
	)
	cl := startCluster(t, 1)
	opts := options(t, cl.Addr(0))
	opts.ProbeInterval = interval
	c := dial(t, opts)
	ctx := testCtx(t)
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()

	// Busy with requests.
	for start := time.Now(); time.Since(start) < intervals*interval; {
		if _, err := c.Rooms(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := cn.pings.Load(); n > 0 {
		t.Fatalf("%d pings sent by a connection busy with requests", n)
	}

	// Busy with subscription data only: another client posts.
	sub, err := c.Subscribe(ctx, "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	poster := dial(t, options(t, cl.Addr(0)))
	var seq uint64
	for start := time.Now(); time.Since(start) < intervals*interval; {
		seq++
		if _, err := poster.Send(ctx, "general", "busy"); err != nil {
			t.Fatal(err)
		}
		receive(t, sub, seq, 1)
	}
	if n := cn.pings.Load(); n > 0 {
		t.Fatalf("%d pings sent by a connection busy with subscription data", n)
	}
	c.mu.Lock()
	same := c.conn == cn
	c.mu.Unlock()
	if !same {
		t.Fatal("the busy connection was replaced")
	}
}
