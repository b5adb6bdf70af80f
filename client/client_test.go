package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/transport"
)

func TestMain(m *testing.M) {
	// Keep the tests quick: short waits, small buffers.
	backoffMax = 200 * time.Millisecond
	dialTimeout = 2 * time.Second
	streamWait = 3 * time.Second
	subBuffer = 16
	os.Exit(m.Run())
}

// waitFor polls cond until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %v", timeout, err)
		}
		time.Sleep(10 * time.Millisecond) // polling interval, not synchronisation
	}
}

// stateLog records OnState calls.
type stateLog struct {
	mu     sync.Mutex
	states []State
}

func (l *stateLog) add(s State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.states = append(l.states, s)
}

func (l *stateLog) get() []State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]State(nil), l.states...)
}

// options returns Options for the cluster, seeded with the given nodes
// and a known_clusters file of the test's own.
func options(t *testing.T, cl *fakeCluster, seeds ...*fakeNode) Options {
	var addrs []string
	for _, n := range seeds {
		addrs = append(addrs, n.addr)
	}
	return Options{
		Servers:           addrs,
		User:              "alice",
		Password:          fakePassword,
		KnownClustersPath: filepath.Join(t.TempDir(), "known_clusters"),
		Logger:            testLogger(t),
	}
}

func dial(t *testing.T, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// receive reads n messages from sub and checks they are seqs first..first+n-1.
func receive(t *testing.T, sub *Subscription, first uint64, n int) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for i := range n {
		select {
		case m, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription closed after %d of %d messages: %v", i, n, sub.Err())
			}
			if want := first + uint64(i); m.Seq != want {
				t.Fatalf("got seq %d, want %d (a gap or a duplicate)", m.Seq, want)
			}
		case <-timeout:
			t.Fatalf("timed out after %d of %d messages (want seq %d next)", i, n, first+uint64(i))
		}
	}
}

// quiet checks that sub holds no further message right now.
func quiet(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case m := <-sub.C():
		t.Fatalf("unexpected message seq %d", m.Seq)
	default:
	}
}

func TestDialOptions(t *testing.T) {
	ctx := context.Background()
	for _, opts := range []Options{
		{User: "alice"},
		{Servers: []string{"127.0.0.1:1"}},
		{Servers: []string{"localhost"}, User: "alice"},
	} {
		if c, err := Dial(ctx, opts); err == nil {
			c.Close()
			t.Errorf("Dial(%+v) succeeded", opts)
		}
	}
}

func TestSendHistoryStatus(t *testing.T) {
	cl := newFakeCluster(t, 2)
	c := dial(t, options(t, cl, cl.nodes[0]))
	ctx := testCtx(t)

	if n := c.Node(); n.ID != 1 || n.Name != "node1" || n.Addr != cl.nodes[0].addr {
		t.Fatalf("Node() = %+v", n)
	}
	var last SendResult
	for i := range 5 {
		r, err := c.Send(ctx, "general", "hello")
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i+1) || r.Room != "general" || r.Duplicate || r.TS.IsZero() {
			t.Fatalf("send %d: %+v", i, r)
		}
		last = r
	}
	// The same id again is a duplicate with the original seq.
	again, err := c.SendID(ctx, "general", last.ID, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if again.Seq != last.Seq || !again.Duplicate {
		t.Fatalf("resend = %+v, want seq %d duplicate", again, last.Seq)
	}

	msgs, err := c.History(ctx, "general", HistoryOptions{Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Seq != 4 || msgs[1].Seq != 5 || msgs[1].User != "alice" {
		t.Fatalf("History last 2 = %+v", msgs)
	}

	// More than one reply's worth pages.
	cl.post("big", 3*fakeHistCap+7)
	msgs, err = c.History(ctx, "big", HistoryOptions{Last: 2*fakeHistCap + 50})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, fakeHistCap-42, 3*fakeHistCap+7) // the last 250 of 307
	msgs, err = c.History(ctx, "big", HistoryOptions{From: 3, Limit: 250})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 3, 252)

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 2 || len(st.Shards) != 1 || st.Shards[0].Leader != 1 {
		t.Fatalf("Status = %+v", st)
	}

	// Both nodes are now pinned in known_clusters.
	known, err := transport.OpenKnownClusters(c.opts.KnownClustersPath)
	if err != nil {
		t.Fatal(err)
	}
	fp := transport.Fingerprint(cl.ca.Cert.Raw)
	for _, n := range cl.nodes {
		if got, ok := known.Lookup(n.addr); !ok || got != fp {
			t.Errorf("known_clusters has %q for %s, want %s", got, n.addr, fp)
		}
	}
}

func TestDialUnauthorizedIsNotRetried(t *testing.T) {
	cl := newFakeCluster(t, 3)
	before := runtime.NumGoroutine()
	opts := options(t, cl, cl.nodes...)
	opts.Password = "wrong"
	_, err := Dial(testCtx(t), opts)
	if transport.CodeOf(err) != transport.CodeUnauthorized {
		t.Fatalf("Dial with a wrong password = %v, want unauthorized", err)
	}
	var total int32
	for _, n := range cl.nodes {
		total += n.handshakes.Load()
	}
	if total != 1 {
		t.Fatalf("%d handshakes, want 1: a refusal must not be retried elsewhere", total)
	}
	noMoreGoroutines(t, before)
}

// noMoreGoroutines waits until no more goroutines run than before.
func noMoreGoroutines(t *testing.T, before int) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			return fmt.Errorf("%d goroutines, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
		}
		return nil
	})
}

// TestReconnectFallsBackToPassword: a node that does not take the session
// token (say, it expired) gets the password instead.
func TestReconnectFallsBackToPassword(t *testing.T) {
	cl := newFakeCluster(t, 2)
	cl.nodes[1].rejectTokens.Store(true)
	c := dial(t, options(t, cl, cl.nodes[0]))
	cl.nodes[0].kill(false)
	if _, err := c.Send(testCtx(t), "general", "hi"); err != nil {
		t.Fatal(err)
	}
	if n := cl.nodes[1].handshakes.Load(); n != 2 {
		t.Fatalf("node 2 saw %d hellos, want 2 (token, then password)", n)
	}
}

func TestDialCAChanged(t *testing.T) {
	cl := newFakeCluster(t, 2)
	opts := options(t, cl, cl.nodes...)
	other := strings.Repeat("ab", 32)
	var lines string
	for _, n := range cl.nodes {
		lines += n.addr + " " + other + "\n"
	}
	if err := os.WriteFile(opts.KnownClustersPath, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Dial(testCtx(t), opts)
	if !errors.Is(err, transport.ErrCAChanged) {
		t.Fatalf("Dial to a cluster with another CA = %v, want ErrCAChanged", err)
	}
}

func TestDialPinnedCA(t *testing.T) {
	cl := newFakeCluster(t, 1)
	opts := options(t, cl, cl.nodes[0])
	opts.CAFile = cl.caFile()
	c := dial(t, opts)
	if _, err := c.Send(testCtx(t), "general", "hi"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(opts.KnownClustersPath); !os.IsNotExist(err) {
		t.Fatalf("with --ca, known_clusters was touched: %v", err)
	}

	stranger := newFakeCluster(t, 1)
	opts = options(t, stranger, stranger.nodes[0])
	opts.CAFile = cl.caFile()
	if _, err := Dial(testCtx(t), opts); !errors.Is(err, transport.ErrUnknownCA) {
		t.Fatalf("Dial to a cluster with another CA than --ca = %v, want ErrUnknownCA", err)
	}
}

func TestDialSkipsDeadServer(t *testing.T) {
	cl := newFakeCluster(t, 2)
	cl.nodes[0].kill(true)
	opts := options(t, cl, cl.nodes...)
	c := dial(t, opts)
	if c.Node().ID != 2 {
		t.Fatalf("connected to %+v, want node 2", c.Node())
	}
}

// TestFailover is the core promise: a node dies with a send in flight and
// a subscription open; the send is acknowledged once with its original seq
// and the subscription carries on with no gap and no duplicate.
func TestFailover(t *testing.T) {
	cl := newFakeCluster(t, 2)
	var states stateLog
	opts := options(t, cl, cl.nodes[0])
	opts.OnState = states.add
	c := dial(t, opts)
	ctx := testCtx(t)

	sub, err := c.Subscribe(ctx, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := c.Send(ctx, "general", "before"); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, sub, 1, 5)

	// Node 1 commits the next send and dies before answering.
	cl.nodes[0].dropSendReply.Store(true)
	r, err := c.Send(ctx, "general", "in flight")
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 6 || !r.Duplicate {
		t.Fatalf("send across the failover = %+v, want the original seq 6, duplicate", r)
	}
	if n := cl.nodes[1].sends.Load(); n != 1 {
		t.Fatalf("node 2 got %d sends, want the 1 retry", n)
	}
	if c.Node().ID != 2 {
		t.Fatalf("connected to %+v, want node 2", c.Node())
	}
	for range 4 {
		if _, err := c.Send(ctx, "general", "after"); err != nil {
			t.Fatal(err)
		}
	}
	receive(t, sub, 6, 5)
	quiet(t, sub)

	waitFor(t, 5*time.Second, func() error {
		want := []State{Connected, Reconnecting, Reconnected}
		if got := states.get(); !slices.Equal(got, want) {
			return errors.New("states " + stateNames(got))
		}
		return nil
	})
	c.Close()
	waitFor(t, 5*time.Second, func() error {
		if got := states.get(); len(got) != 4 || got[3] != Closed {
			return errors.New("states " + stateNames(got))
		}
		return nil
	})
}

func stateNames(s []State) string {
	var names []string
	for _, x := range s {
		names = append(names, x.String())
	}
	return strings.Join(names, ",")
}

// TestResumeFromNow: a "from now" subscription that has delivered nothing
// yet resumes from where "now" was when it started, so messages committed
// during the outage are not lost.
func TestResumeFromNow(t *testing.T) {
	cl := newFakeCluster(t, 2)
	cl.post("general", 3)
	c := dial(t, options(t, cl, cl.nodes[0]))
	sub, err := c.Subscribe(testCtx(t), "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	cl.nodes[0].kill(false)
	cl.post("general", 2) // seqs 4 and 5, committed during the outage
	receive(t, sub, 4, 2)
	quiet(t, sub)
}

// TestSilentNodeDeath: the node vanishes without closing the connection;
// the idle timeout notices and the client moves on.
func TestSilentNodeDeath(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for the QUIC idle timeout")
	}
	cl := newFakeCluster(t, 2)
	c := dial(t, options(t, cl, cl.nodes[0]))
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	cl.post("general", 2)
	receive(t, sub, 1, 2)
	cl.nodes[0].kill(true)
	r, err := c.Send(ctx, "general", "after the plug was pulled")
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 {
		t.Fatalf("send = %+v, want seq 3", r)
	}
	receive(t, sub, 3, 1)
	quiet(t, sub)
}

func TestSendRetriesUnavailable(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	cl.nodes[0].unavailableSends.Store(3)
	r, err := c.Send(testCtx(t), "general", "eventually")
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 1 || cl.nodes[0].sends.Load() != 4 {
		t.Fatalf("send = %+v after %d attempts, want seq 1 after 4", r, cl.nodes[0].sends.Load())
	}
}

func TestSendTimeoutSaysWhy(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	cl.nodes[0].unavailableSends.Store(1 << 30)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := c.Send(ctx, "general", "never")
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "no quorum") {
		t.Fatalf("Send = %v, want a deadline error naming the last refusal", err)
	}
}

func TestSubscriptionGapResubscribes(t *testing.T) {
	cl := newFakeCluster(t, 1)
	cl.post("general", 3)
	c := dial(t, options(t, cl, cl.nodes[0]))
	cl.nodes[0].gapOnce.Store(true) // the node will skip seq 1 once
	sub, err := c.Subscribe(testCtx(t), "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	receive(t, sub, 1, 3)
	cl.post("general", 2)
	receive(t, sub, 4, 2)
	quiet(t, sub)
}

func TestSubscribeRefused(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	_, err := c.Subscribe(testCtx(t), "secret-room", 0)
	if transport.CodeOf(err) != transport.CodeForbidden {
		t.Fatalf("Subscribe = %v, want forbidden", err)
	}
}

func TestSubscriptionEndedByNode(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	sub, err := c.Subscribe(testCtx(t), "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	cl.nodes[0].endStreams.Store(true)
	cl.post("general", 1)
	for range sub.C() {
		t.Fatal("message delivered after the node ended the subscription")
	}
	if transport.CodeOf(sub.Err()) != transport.CodeForbidden {
		t.Fatalf("Err = %v, want forbidden", sub.Err())
	}
}

func TestSubscriptionCloseAndContext(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	node := cl.nodes[0]

	sub, err := c.Subscribe(testCtx(t), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	sub2, err := c.Subscribe(ctx, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := node.streams.Load(); n != 2 {
			return fmt.Errorf("%d streams open on the node, want 2", n)
		}
		return nil
	})

	sub.Close()
	if _, ok := <-sub.C(); ok || sub.Err() != nil {
		t.Fatalf("after Close: channel open or Err = %v", sub.Err())
	}
	cancel()
	for range sub2.C() {
	}
	if sub2.Err() != nil {
		t.Fatalf("after the context ended: Err = %v", sub2.Err())
	}
	// The node noticed both cancellations.
	waitFor(t, 5*time.Second, func() error {
		if n := node.streams.Load(); n != 0 {
			return errors.New("streams still open on the node")
		}
		return nil
	})
}

// TestSlowSubscriberBlocksOnlyItself: a subscription nobody reads fills its
// buffer and stalls its own stream; other subscriptions and requests on the
// same connection carry on.
func TestSlowSubscriberBlocksOnlyItself(t *testing.T) {
	cl := newFakeCluster(t, 1)
	c := dial(t, options(t, cl, cl.nodes[0]))
	ctx := testCtx(t)
	slow, err := c.Subscribe(ctx, "slow", 1)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.Subscribe(ctx, "fast", 1)
	if err != nil {
		t.Fatal(err)
	}
	cl.post("slow", 20*subBuffer)
	for i := range 50 {
		if _, err := c.Send(ctx, "fast", "x"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	receive(t, fast, 1, 50)
	// The slow one still gets everything, in order, once read.
	receive(t, slow, 1, 20*subBuffer)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	cl := newFakeCluster(t, 2)
	before := runtime.NumGoroutine()

	var states stateLog
	opts := options(t, cl, cl.nodes[0])
	opts.OnState = states.add
	c := dial(t, opts)
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Subscribe(ctx, "other", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Send(ctx, "general", "x"); err != nil {
		t.Fatal(err)
	}
	receive(t, sub, 1, 1)
	// And once more after a failover.
	cl.nodes[0].kill(false)
	if _, err := c.Send(ctx, "general", "y"); err != nil {
		t.Fatal(err)
	}
	receive(t, sub, 2, 1)

	c.Close()
	if _, ok := <-sub.C(); ok {
		t.Fatal("subscription open after Client.Close")
	}
	if sub.Err() != nil {
		t.Fatalf("Err after Client.Close = %v, want nil", sub.Err())
	}
	if _, err := c.Send(ctx, "general", "z"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Send after Close = %v, want ErrClosed", err)
	}
	if _, err := c.Subscribe(ctx, "general", 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Subscribe after Close = %v, want ErrClosed", err)
	}
	c.Close() // idempotent
	noMoreGoroutines(t, before)
}
