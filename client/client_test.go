package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/placement"
	"github.com/parleychat/parley/transport"
)

// The tests in this file drive the SDK against real clusters: in-process
// parleyd servers (daemontest) with dragonboat on disk, over real QUIC on
// 127.0.0.1. Faults are real too: a server stopped, or its packets lost by
// the Client's own socket (faultnet_test.go).

func TestMain(m *testing.M) {
	// Keep the tests quick: short waits, small buffers. But a handshake
	// includes the server's login, which on a busy machine under the race
	// detector (argon2id, a registry commit for a first login) takes
	// seconds: give it more than the default, not less.
	backoffMax = 200 * time.Millisecond
	dialTimeout = 10 * time.Second
	streamWait = 3 * time.Second
	subBuffer = 16
	os.Exit(m.Run())
}

// password is every test user's password. The first login of a name
// claims it with the password given.
const password = "correct horse"

// startCluster starts n servers with 2 room shards, and opts' other
// settings.
func startCluster(t *testing.T, n int, opts ...daemontest.Options) *daemontest.Cluster {
	t.Helper()
	o := daemontest.Options{Shards: 2}
	if len(opts) > 0 {
		o = opts[0]
	}
	return daemontest.StartCluster(t, n, o)
}

// waitFor polls cond until it returns nil or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, cond func() error) {
	t.Helper()
	chatcoretest.WaitFor(t, timeout, cond)
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

func stateNames(s []State) string {
	var names []string
	for _, x := range s {
		names = append(names, x.String())
	}
	return strings.Join(names, ",")
}

// options returns Options for user alice, seeded with addrs, with a
// known_clusters file of the test's own and the test log.
func options(t *testing.T, addrs ...string) Options {
	return Options{
		Servers:           addrs,
		User:              "alice",
		Password:          password,
		KnownClustersPath: filepath.Join(t.TempDir(), "known_clusters"),
		Logger:            recordLogs(t).logger(),
	}
}

// watched dials a client of addr whose logs and state changes the test can
// read back; tweak, if not nil, adjusts its options before the dial.
func watched(t *testing.T, addr string, tweak func(*Options)) (*Client, *logRecorder, *stateLog) {
	t.Helper()
	rec, states := recordLogs(t), &stateLog{}
	opts := options(t, addr)
	opts.Logger = rec.logger()
	opts.OnState = states.add
	if tweak != nil {
		tweak(&opts)
	}
	return dial(t, opts), rec, states
}

func dial(t *testing.T, opts Options) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, opts)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// send sends n messages to room, one after another, and returns their
// results.
func send(t *testing.T, c *Client, room string, n int) []SendResult {
	t.Helper()
	var out []SendResult
	for i := range n {
		r, err := c.Send(testCtx(t), room, fmt.Sprintf("m%d", i))
		if err != nil {
			t.Fatalf("send %d to %s: %v", i, room, err)
		}
		out = append(out, r)
	}
	return out
}

// receive reads n messages from sub and checks they are seqs first..first+n-1.
func receive(t *testing.T, sub *Subscription, first uint64, n int) []parley.Message {
	t.Helper()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	var out []parley.Message
	for i := range n {
		select {
		case m, ok := <-sub.C():
			if !ok {
				t.Fatalf("subscription closed after %d of %d messages: %v", i, n, sub.Err())
			}
			if want := first + uint64(i); m.Seq != want {
				t.Fatalf("got seq %d, want %d (a gap or a duplicate)", m.Seq, want)
			}
			out = append(out, m)
		case <-timeout.C:
			t.Fatalf("timed out after %d of %d messages (want seq %d next)", i, n, first+uint64(i))
		}
	}
	return out
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

// checkLog checks that msgs, the whole of a room's history, hold exactly
// the acknowledged sends rs: each at the seq its acknowledgement gave, with
// its id, and nothing else.
func checkLog(t *testing.T, msgs []parley.Message, rs []SendResult) {
	t.Helper()
	checkSeqs(t, msgs, 1, uint64(len(rs)))
	ids := make(map[parley.MsgID]bool)
	for _, r := range rs {
		if ids[r.ID] {
			t.Fatalf("id %s acknowledged twice", r.ID)
		}
		ids[r.ID] = true
		if r.Seq < 1 || r.Seq > uint64(len(msgs)) {
			t.Fatalf("send %s acknowledged as seq %d, the room has %d messages", r.ID, r.Seq, len(msgs))
		}
		if m := msgs[r.Seq-1]; m.ID != r.ID {
			t.Fatalf("send %s acknowledged as seq %d, which holds %s", r.ID, r.Seq, m.ID)
		}
	}
}

// caFingerprint returns the fingerprint of the cluster CA.
func caFingerprint(t *testing.T, cl *daemontest.Cluster) string {
	t.Helper()
	pem, err := os.ReadFile(cl.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.ParseCertPEM(pem)
	if err != nil {
		t.Fatal(err)
	}
	return pki.Fingerprint(ca.Raw)
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
	cl := startCluster(t, 2)
	c := dial(t, options(t, cl.Addr(0)))
	ctx := testCtx(t)

	if n := c.Node(); n.ID != cl.Server(0).Node().ID() || n.Name != "n1" || n.Addr != cl.Addr(0) {
		t.Fatalf("Node() = %+v", n)
	}
	var rs []SendResult
	for i := range 5 {
		r, err := c.Send(ctx, "general", fmt.Sprintf("hello %d", i))
		if err != nil {
			t.Fatal(err)
		}
		if r.Seq != uint64(i+1) || r.Room != "general" || r.Duplicate || r.TS.IsZero() || r.ID.IsZero() {
			t.Fatalf("send %d: %+v", i, r)
		}
		rs = append(rs, r)
	}
	last := rs[len(rs)-1]
	// The same id again is a duplicate with the original seq and stamp.
	again, err := c.SendID(ctx, "general", last.ID, "hello 4")
	if err != nil {
		t.Fatal(err)
	}
	if again.Seq != last.Seq || !again.Duplicate || !again.TS.Equal(last.TS) {
		t.Fatalf("resend = %+v, want seq %d at %v, duplicate", again, last.Seq, last.TS)
	}

	msgs, err := c.History(ctx, "general", HistoryOptions{Last: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Seq != 4 || msgs[1].Seq != 5 || msgs[1].User != "alice" ||
		msgs[1].Text != "hello 4" || msgs[1].ID != last.ID || !msgs[1].TS.Equal(last.TS) {
		t.Fatalf("History last 2 = %+v", msgs)
	}
	msgs, err = c.History(ctx, "general", HistoryOptions{From: 2, Limit: 2, MinSeq: last.Seq})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 2, 3)
	msgs, err = c.History(ctx, "general", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, rs)
	if msgs, err := c.History(ctx, "empty", HistoryOptions{Last: 10}); err != nil || len(msgs) != 0 {
		t.Fatalf("History of an empty room = %v, %v", msgs, err)
	}

	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 2 || len(st.Shards) != 3 {
		t.Fatalf("Status = %+v, want 2 nodes and 3 shards", st)
	}
	for _, n := range st.Nodes {
		if !n.Up || cl.Index(n.Addr) < 0 {
			t.Errorf("Status node %+v: want up, at one of %v", n, cl.Addrs())
		}
	}
	for _, s := range st.Shards {
		want := 2 // every room shard on both nodes; the registry wants an odd number
		if s.ID == placement.RegistryShard {
			want = placement.RegistryVoterCount(2)
		}
		if s.Leader == 0 || len(s.Replicas) != want {
			t.Errorf("Status shard %+v: want a leader and %d replicas", s, want)
		}
	}

	// Both nodes are now pinned in known_clusters.
	known, err := transport.OpenKnownClusters(c.opts.KnownClustersPath)
	if err != nil {
		t.Fatal(err)
	}
	fp := caFingerprint(t, cl)
	for _, a := range cl.Addrs() {
		if got, ok := known.Lookup(a); !ok || got != fp {
			t.Errorf("known_clusters has %q for %s, want %s", got, a, fp)
		}
	}
}

// TestHistoryPaging: more messages than the node returns in one reply
// (chatcore.MaxHistory, 1000) are gathered over several requests, in seq
// order, each once.
func TestHistoryPaging(t *testing.T) {
	const (
		senders = 8
		each    = 140 // 1120 messages in all
		total   = senders * each
	)
	cl := startCluster(t, 1)
	c := dial(t, options(t, cl.Addr(0)))
	ctx := testCtx(t)

	// Several senders at once keep this quick; each one's messages must
	// keep its order.
	results := make([][]SendResult, senders)
	var wg sync.WaitGroup
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				r, err := c.Send(ctx, "big", fmt.Sprintf("%d/%d", g, j))
				if err != nil {
					t.Errorf("sender %d, send %d: %v", g, j, err)
					return
				}
				results[g] = append(results[g], r)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var all []SendResult
	for g := range senders {
		for j := 1; j < each; j++ {
			if results[g][j].Seq <= results[g][j-1].Seq {
				t.Fatalf("sender %d: send %d got seq %d after seq %d", g, j, results[g][j].Seq, results[g][j-1].Seq)
			}
		}
		all = append(all, results[g]...)
	}

	// Everything, from seq 1: two replies.
	msgs, err := c.History(ctx, "big", HistoryOptions{From: 1, Limit: 2 * total})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, all)
	for _, m := range msgs {
		var g, j int
		if _, err := fmt.Sscanf(m.Text, "%d/%d", &g, &j); err != nil || results[g][j].Seq != m.Seq {
			t.Fatalf("seq %d holds %q, which was acknowledged elsewhere", m.Seq, m.Text)
		}
	}

	// The last 1050: the node returns the newest 1000, the SDK fetches
	// the rest before them.
	msgs, err = c.History(ctx, "big", HistoryOptions{Last: 1050})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, total-1050+1, total)
	// 1050 from seq 3: pages forward.
	msgs, err = c.History(ctx, "big", HistoryOptions{From: 3, Limit: 1050})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 3, 1052)
	// No limit: one reply, as long as the node makes it.
	msgs, err = c.History(ctx, "big", HistoryOptions{From: 100})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 100, 1099)
}

func TestDialUnauthorizedIsNotRetried(t *testing.T) {
	cl := startCluster(t, 2)
	fn := installFaultNet(t)
	// Claim alice's name with the right password.
	dial(t, options(t, cl.Addr(0))).Close()

	before := fn.totalDialed()
	opts := options(t, cl.Addrs()...)
	opts.Password = "wrong"
	_, err := Dial(testCtx(t), opts)
	if transport.CodeOf(err) != transport.CodeUnauthorized {
		t.Fatalf("Dial with a wrong password = %v, want unauthorized", err)
	}
	if n := fn.totalDialed() - before; n != 1 {
		t.Fatalf("%d connections, want 1: a refusal must not be retried elsewhere", n)
	}
	noLeaks(t, fn)
}

// TestReconnectFallsBackToPassword: a node that does not take the session
// token (here a forged one) gets the password instead, at once.
func TestReconnectFallsBackToPassword(t *testing.T) {
	cl := startCluster(t, 1)
	fn := installFaultNet(t)
	rec := recordLogs(t)
	opts := options(t, cl.Addr(0))
	opts.Logger = rec.logger()
	c := dial(t, opts)

	const forged = "Zm9yZ2Vk.Zm9yZ2Vk"
	c.mu.Lock()
	c.token = forged
	cn := c.conn
	c.mu.Unlock()
	before := fn.dialed(cl.Addr(0))
	cn.fail(errors.New("test: connection dropped"))

	if _, err := c.Send(testCtx(t), "general", "hi"); err != nil {
		t.Fatal(err)
	}
	if n := fn.dialed(cl.Addr(0)) - before; n != 2 {
		t.Fatalf("%d connections after the drop, want 2 (token, then password)", n)
	}
	if n := len(rec.find("session token refused; logging in with the password")); n != 1 {
		t.Fatalf("token refused %d times, want 1", n)
	}
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	if token == "" || token == forged {
		t.Fatalf("token after the password login: %q", token)
	}
}

// TestDialCAPinning: a cluster whose CA is not the one pinned, in
// known_clusters or by --ca, is refused at once.
func TestDialCAPinning(t *testing.T) {
	cl := startCluster(t, 1)

	t.Run("changed", func(t *testing.T) {
		opts := options(t, cl.Addrs()...)
		other := strings.Repeat("ab", 32)
		if err := os.WriteFile(opts.KnownClustersPath, []byte(cl.Addr(0)+" "+other+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Dial(testCtx(t), opts)
		if !errors.Is(err, transport.ErrCAChanged) {
			t.Fatalf("Dial to a cluster with another CA = %v, want ErrCAChanged", err)
		}
	})

	t.Run("pinned", func(t *testing.T) {
		opts := options(t, cl.Addr(0))
		opts.CAFile = cl.CAFile()
		c := dial(t, opts)
		if _, err := c.Send(testCtx(t), "general", "hi"); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(opts.KnownClustersPath); !os.IsNotExist(err) {
			t.Fatalf("with --ca, known_clusters was touched: %v", err)
		}
	})

	t.Run("unknown", func(t *testing.T) {
		certPEM, _, err := pki.NewCA("stranger")
		if err != nil {
			t.Fatal(err)
		}
		opts := options(t, cl.Addr(0))
		opts.CAFile = filepath.Join(t.TempDir(), "ca.pem")
		if err := os.WriteFile(opts.CAFile, certPEM, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := Dial(testCtx(t), opts); !errors.Is(err, transport.ErrUnknownCA) {
			t.Fatalf("Dial to a cluster with another CA than --ca = %v, want ErrUnknownCA", err)
		}
	})
}

func TestDialSkipsDeadServer(t *testing.T) {
	cl := startCluster(t, 3)
	// Claim alice's name while the whole cluster is up.
	dial(t, options(t, cl.Addr(0))).Close()
	cl.Stop(0)
	c := dial(t, options(t, cl.Addrs()...))
	if i := cl.Index(c.Node().Addr); i < 1 {
		t.Fatalf("connected to %+v (server %d), want a live one", c.Node(), i)
	}
	if _, err := c.Send(testCtx(t), "general", "hi"); err != nil {
		t.Fatal(err)
	}
}

// TestFailover is the core promise: the node a client is connected to
// stops while sends are in flight and a subscription is open; every send
// is acknowledged once, at the seq it was committed at, and the
// subscription carries on with no gap and no duplicate.
func TestFailover(t *testing.T) {
	const (
		senders = 3
		each    = 20
		before  = 5
		total   = before + senders*each
	)
	cl := startCluster(t, 3)
	var states stateLog
	opts := options(t, cl.Addr(0))
	opts.OnState = states.add
	c := dial(t, opts)
	ctx := testCtx(t)

	sub, err := c.Subscribe(ctx, "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	all := send(t, c, "general", before)
	receive(t, sub, 1, before)

	victim := cl.Index(c.Node().Addr)
	var (
		acked atomic.Int32
		mu    sync.Mutex
		wg    sync.WaitGroup
	)
	for g := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range each {
				r, err := c.Send(ctx, "general", fmt.Sprintf("%d/%d", g, j))
				if err != nil {
					t.Errorf("sender %d, send %d: %v", g, j, err)
					return
				}
				acked.Add(1)
				mu.Lock()
				all = append(all, r)
				mu.Unlock()
			}
		}()
	}
	waitFor(t, 30*time.Second, func() error {
		if n := acked.Load(); n < senders*each/4 {
			return fmt.Errorf("%d sends acknowledged", n)
		}
		return nil
	})
	cl.Stop(victim)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	// The subscription saw everything once, in order.
	receive(t, sub, before+1, senders*each)
	quiet(t, sub)
	// Every acknowledgement names the message's one place in the room.
	msgs, err := c.History(ctx, "general", HistoryOptions{Last: total})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, all)
	dups := 0
	for _, r := range all {
		if r.Duplicate {
			dups++
		}
	}
	t.Logf("%d sends were acknowledged as duplicates of their first attempt", dups)

	if i := cl.Index(c.Node().Addr); i == victim || i < 0 {
		t.Fatalf("connected to %+v (server %d), want another than %d", c.Node(), i, victim)
	}
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

// TestSendReplyLost: a node commits a send but its reply never arrives
// (nothing the node sends does). The liveness probe gives the node up,
// and the send, retried on another node with the same id, returns the
// original seq as a duplicate.
func TestSendReplyLost(t *testing.T) {
	cl := startCluster(t, 3)
	fn := installFaultNet(t)
	rec := recordLogs(t)
	opts := options(t, cl.Addr(0))
	opts.Logger = rec.logger()
	c := dial(t, opts)
	ctx := testCtx(t)
	all := send(t, c, "general", 3)

	victim := c.Node().Addr
	fn.cut(victim, dropReplies)
	r, err := c.Send(ctx, "general", "reply lost")
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 4 || !r.Duplicate {
		t.Fatalf("send whose reply was lost = %+v, want the original seq 4, duplicate", r)
	}
	if c.Node().Addr == victim {
		t.Fatalf("still connected to %s", victim)
	}
	msgs, err := c.History(ctx, "general", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, append(all, r))
	if lost := rec.find("connection lost; reconnecting"); len(lost) != 1 || !errors.Is(errOf(lost[0]), errNodeSilent) {
		t.Fatal("the connection was not given up by the liveness probe")
	}
}

// TestSilentNodeDeath: the node vanishes without closing the connection;
// with the liveness probe off, QUIC's idle timeout, the backstop, notices,
// and the client moves on: sends go through and the subscription resumes.
// (TestProbeGivesUpSilentNode is the same with the probe on.)
func TestSilentNodeDeath(t *testing.T) {
	cl := startCluster(t, 3)
	fn := installFaultNet(t)
	c, rec, states := watched(t, cl.Addr(0), func(o *Options) { o.ProbeInterval = -1 })
	ctx := testCtx(t)
	sub, err := c.Subscribe(ctx, "general", 1)
	if err != nil {
		t.Fatal(err)
	}
	all := send(t, c, "general", 2)
	receive(t, sub, 1, 2)

	victim := c.Node().Addr
	fn.cut(victim, dropAll)
	r, err := c.Send(ctx, "general", "after the plug was pulled")
	if err != nil {
		t.Fatal(err)
	}
	if r.Seq != 3 || r.Duplicate {
		t.Fatalf("send = %+v, want seq 3, not a duplicate (the node never saw it)", r)
	}
	receive(t, sub, 3, 1)
	quiet(t, sub)
	if c.Node().Addr == victim {
		t.Fatalf("still connected to %s", victim)
	}
	msgs, err := c.History(ctx, "general", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, append(all, r))
	if !errorsAs[*quic.IdleTimeoutError](rec.find("connection lost; reconnecting")) {
		t.Fatal("the connection was not given up by the idle timeout")
	}
	if got := states.get(); !slices.Equal(got, []State{Connected, Reconnecting, Reconnected}) {
		t.Fatalf("states %s", stateNames(got))
	}
}

// TestResumeFromNow: a "from now" subscription that has delivered nothing
// yet resumes from where "now" was when it started, so messages committed
// during the outage are not lost.
func TestResumeFromNow(t *testing.T) {
	cl := startCluster(t, 3)
	poster := dial(t, options(t, cl.Addr(1)))
	send(t, poster, "general", 3)
	c := dial(t, options(t, cl.Addr(0)))
	sub, err := c.Subscribe(testCtx(t), "general", 0)
	if err != nil {
		t.Fatal(err)
	}
	cl.Stop(cl.Index(c.Node().Addr))
	send(t, poster, "general", 2) // seqs 4 and 5, committed during the outage
	receive(t, sub, 4, 2)
	quiet(t, sub)
}

// TestSendRetriesRateLimited: sends refused as rate_limited are retried
// after the node's hint until they go through.
func TestSendRetriesRateLimited(t *testing.T) {
	const sends = 20
	cl := startCluster(t, 1, daemontest.Options{Shards: 2, Configure: func(_ int, cfg *daemon.Config) {
		cfg.RequestsPerSecond = 5 // bursts of 10
	}})
	rec := recordLogs(t)
	opts := options(t, cl.Addr(0))
	opts.Logger = rec.logger()
	c := dial(t, opts)
	ctx := testCtx(t)

	rs := make([]SendResult, sends)
	var wg sync.WaitGroup
	for i := range sends {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Send(ctx, "general", fmt.Sprintf("m%d", i))
			if err != nil {
				t.Errorf("send %d: %v", i, err)
			}
			rs[i] = r
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	limited := 0
	for _, r := range rec.find("retrying") {
		if transport.CodeOf(errOf(r)) == transport.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatalf("%d sends at once, 10 allowed: none was rate limited", sends)
	}
	msgs, err := c.History(ctx, "general", HistoryOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkLog(t, msgs, rs)
}

// TestSendTimeoutSaysWhy: a send whose context ends while it waits to be
// retried reports what it was waiting for.
func TestSendTimeoutSaysWhy(t *testing.T) {
	cl := startCluster(t, 1, daemontest.Options{Shards: 2, Configure: func(_ int, cfg *daemon.Config) {
		cfg.RequestsPerSecond = 1 // bursts of 2
	}})
	rec := recordLogs(t)
	opts := options(t, cl.Addr(0))
	opts.Logger = rec.logger()
	c := dial(t, opts)
	// Spend the burst on requests the node refuses for good, at once.
	for range 2 {
		if _, err := c.Send(testCtx(t), "Bad Room", "x"); transport.CodeOf(err) != transport.CodeInvalid {
			t.Fatalf("send to a bad room name = %v, want invalid", err)
		}
	}
	// The context ends as soon as the send waits to be retried.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec.mu.Lock()
	rec.onRecord = func(r slog.Record) {
		if r.Message == "retrying" {
			cancel()
		}
	}
	rec.mu.Unlock()
	_, err := c.Send(ctx, "general", "never")
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "too many requests") {
		t.Fatalf("Send = %v, want the context's end naming the last refusal", err)
	}
}

// TestRefusalsAreFinal: what the node refuses for good is returned as its
// *transport.Error, not retried.
func TestRefusalsAreFinal(t *testing.T) {
	cl := startCluster(t, 1)
	c := dial(t, options(t, cl.Addr(0)))
	ctx := testCtx(t)
	if _, err := c.Subscribe(ctx, "Bad Room", 0); transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("Subscribe = %v, want invalid", err)
	}
	if _, err := c.History(ctx, "Bad Room", HistoryOptions{Last: 5}); transport.CodeOf(err) != transport.CodeInvalid {
		t.Fatalf("History = %v, want invalid", err)
	}
	if _, err := c.Send(ctx, "general", strings.Repeat("x", 16<<10+1)); transport.CodeOf(err) != transport.CodeTooLarge {
		t.Fatalf("Send of an oversized text = %v, want too_large", err)
	}
}

// pumps counts the subscription streams the cluster's in-process servers
// are writing, by their goroutines.
func pumps() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return strings.Count(string(buf[:n]), "parley/daemon.(*session).pump(")
		}
		buf = make([]byte, 2*len(buf))
	}
}

func TestSubscriptionCloseAndContext(t *testing.T) {
	cl := startCluster(t, 1)
	c := dial(t, options(t, cl.Addr(0)))

	sub, err := c.Subscribe(testCtx(t), "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sub2, err := c.Subscribe(ctx, "b", 0)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if n := pumps(); n != 2 {
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
		if n := pumps(); n != 0 {
			return fmt.Errorf("%d streams still open on the node", n)
		}
		return nil
	})
}

// TestSlowSubscriberBlocksOnlyItself: a subscription nobody reads fills its
// buffer and stalls its own stream (more data than QUIC's stream window);
// other subscriptions and requests on the same connection carry on.
func TestSlowSubscriberBlocksOnlyItself(t *testing.T) {
	const (
		slowMsgs = 20 * 16 // 20 times subBuffer
		posters  = 4
	)
	cl := startCluster(t, 1)
	c := dial(t, options(t, cl.Addr(0)))
	poster := dial(t, options(t, cl.Addr(0)))
	ctx := testCtx(t)
	slow, err := c.Subscribe(ctx, "slow", 1)
	if err != nil {
		t.Fatal(err)
	}
	fast, err := c.Subscribe(ctx, "fast", 1)
	if err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 8<<10) // 320 × 8 KiB: 2.5 MiB
	var wg sync.WaitGroup
	for g := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range slowMsgs / posters {
				if _, err := poster.Send(ctx, "slow", big); err != nil {
					t.Errorf("poster %d: %v", g, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	waitFor(t, 10*time.Second, func() error {
		if n := len(slow.ch); n < cap(slow.ch) {
			return fmt.Errorf("slow subscription holds %d messages, want its buffer (%d) full", n, cap(slow.ch))
		}
		return nil
	})
	for i := range 50 {
		if _, err := c.Send(ctx, "fast", "x"); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	receive(t, fast, 1, 50)
	// The slow one still gets everything, in order, once read.
	receive(t, slow, 1, slowMsgs)
	quiet(t, slow)
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	cl := startCluster(t, 3)
	fn := installFaultNet(t)

	var states stateLog
	opts := options(t, cl.Addr(0))
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
	send(t, c, "general", 1)
	receive(t, sub, 1, 1)
	// And once more after a failover.
	cl.Stop(cl.Index(c.Node().Addr))
	send(t, c, "general", 1)
	receive(t, sub, 2, 1)

	if len(clientGoroutines()) == 0 {
		t.Fatal("the leak check sees no goroutine of a running Client")
	}
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
	noLeaks(t, fn)
	waitFor(t, 5*time.Second, func() error {
		if got := states.get(); len(got) == 0 || got[len(got)-1] != Closed {
			return errors.New("states " + stateNames(got))
		}
		return nil
	})
}
