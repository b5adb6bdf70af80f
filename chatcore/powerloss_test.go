package chatcore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	chantransport "github.com/lni/dragonboat/v4/plugin/chan"
	"github.com/lni/dragonboat/v4/raftio"
	raftpb "github.com/lni/dragonboat/v4/raftpb"
	"github.com/lni/vfs"
	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/placement"
)

// powerCluster is a cluster of in-process nodes, each on a strict
// in-memory file system that keeps only what was fsynced, so that a test
// can cut a node's power: what was not synced is lost, as it would be on
// a real machine whose page cache dies with it.
type powerCluster struct {
	t      *testing.T
	shards int
	fss    []*vfs.MemFS
	links  []*cuttableTransport
	cfgs   []Config

	mu    sync.Mutex
	nodes []*Node // nil while a node is down
}

const powerShards = 4

func startPowerCluster(t *testing.T, size int) *powerCluster {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := &powerCluster{t: t, shards: powerShards}
	t.Cleanup(c.closeAll)
	for i := range size {
		fs := vfs.NewStrictMem()
		name := fmt.Sprintf("n%d", i+1)
		cfg := Config{
			DataDir:    filepath.Join("/", "data", name),
			Name:       name,
			RaftAddr:   powerFreeAddr(t),
			ClientAddr: fmt.Sprintf("127.0.0.1:%d", 18400+i),
			Profile:    ProfileSmall,
			Logger:     powerLogger(),
			FS:         fs,
		}
		c.links = append(c.links, &cuttableTransport{})
		cfg.RaftTransport = c.links[i]
		var n *Node
		var err error
		if i == 0 {
			cfg.Shards = powerShards
			n, err = Start(ctx, cfg)
		} else {
			n, err = Join(ctx, cfg, c.nodes[0])
		}
		if err != nil {
			t.Fatalf("start %s: %v", name, err)
		}
		c.fss = append(c.fss, fs)
		c.cfgs = append(c.cfgs, cfg)
		c.nodes = append(c.nodes, n)
	}
	c.waitFormed()
	for _, cfg := range c.cfgs {
		if _, err := os.Stat(cfg.DataDir); err == nil {
			t.Fatalf("%s wrote to the OS's disk at %s, not to its Config.FS", cfg.Name, cfg.DataDir)
		}
	}
	return c
}

// powerLogger logs errors only, or everything with PARLEY_TEST_DEBUG set.
func powerLogger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("PARLEY_TEST_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// powerFreeAddr returns an address no other node of this test process
// has: the in-process transport never binds it, so a port the OS picked
// and released could be picked again for the next node.
func powerFreeAddr(t *testing.T) string {
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// cuttableTransport is dragonboat's in-process transport (plugin/chan)
// with a switch: while down, the node sends and receives no Raft message.
type cuttableTransport struct {
	down atomic.Bool
}

func (f *cuttableTransport) Create(nhc config.NodeHostConfig, h raftio.MessageHandler, ch raftio.ChunkHandler) raftio.ITransport {
	in := func(b raftpb.MessageBatch) {
		if !f.down.Load() {
			h(b)
		}
	}
	inChunk := func(c raftpb.Chunk) bool { return !f.down.Load() && ch(c) }
	return &cuttableLinks{ITransport: chantransport.NewChanTransport(nhc, in, inChunk), f: f}
}

func (f *cuttableTransport) Validate(addr string) bool { return addr != "" }

// errPowerCut is what a node without power gets for a send.
var errPowerCut = errors.New("power cut")

// cuttableLinks are a node's connections, silent while its transport is down.
type cuttableLinks struct {
	raftio.ITransport
	f *cuttableTransport
}

func (l *cuttableLinks) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	if l.f.down.Load() {
		return nil, errPowerCut
	}
	c, err := l.ITransport.GetConnection(ctx, target)
	if err != nil {
		return nil, err
	}
	return cuttableConn{c, l.f}, nil
}

func (l *cuttableLinks) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	if l.f.down.Load() {
		return nil, errPowerCut
	}
	c, err := l.ITransport.GetSnapshotConnection(ctx, target)
	if err != nil {
		return nil, err
	}
	return cuttableSnapConn{c, l.f}, nil
}

type cuttableConn struct {
	raftio.IConnection
	f *cuttableTransport
}

func (c cuttableConn) SendMessageBatch(b raftpb.MessageBatch) error {
	if c.f.down.Load() {
		return errPowerCut
	}
	return c.IConnection.SendMessageBatch(b)
}

type cuttableSnapConn struct {
	raftio.ISnapshotConnection
	f *cuttableTransport
}

func (c cuttableSnapConn) SendChunk(ch raftpb.Chunk) error {
	if c.f.down.Load() {
		return errPowerCut
	}
	return c.ISnapshotConnection.SendChunk(ch)
}

// node returns node i, nil while it is down.
func (c *powerCluster) node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[i]
}

// up returns a running node, trying from i on.
func (c *powerCluster) up(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k := range c.nodes {
		if n := c.nodes[(i+k)%len(c.nodes)]; n != nil {
			return n
		}
	}
	return nil
}

// cutPower cuts the power of the nodes in idx at the same instant: from
// then on nothing they write is made durable; they stop, and everything
// they had not fsynced is lost. Then they start again from what their
// file systems kept.
func (c *powerCluster) cutPower(idx ...int) {
	c.t.Helper()
	c.mu.Lock()
	var down []*Node
	for _, i := range idx {
		// A machine without power says nothing more: its Raft messages
		// stop at the same instant as its disk, so no peer hears an
		// acknowledgement of an entry the disk never kept.
		c.links[i].down.Store(true)
		c.fss[i].SetIgnoreSyncs(true)
		down = append(down, c.nodes[i])
		c.nodes[i] = nil
	}
	c.mu.Unlock()
	for _, n := range down {
		n.Close() // writes nothing durable any more: syncs are ignored
	}
	for _, i := range idx {
		c.fss[i].ResetToSyncedState()
		c.fss[i].SetIgnoreSyncs(false)
		c.links[i].down.Store(false)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, i := range idx {
		n, err := Open(ctx, c.cfgs[i])
		if err != nil {
			c.t.Fatalf("reopen %s after its power loss: %v", c.cfgs[i].Name, err)
		}
		c.mu.Lock()
		c.nodes[i] = n
		c.mu.Unlock()
	}
}

func (c *powerCluster) closeAll() {
	c.mu.Lock()
	nodes := c.nodes
	c.nodes = make([]*Node, len(nodes))
	c.mu.Unlock()
	for _, n := range nodes {
		if n != nil {
			n.Close()
		}
	}
}

// waitFormed waits until every node sees every shard with every node as a
// voter and a leader.
func (c *powerCluster) waitFormed() {
	c.t.Helper()
	powerPoll(c.t, 90*time.Second, func() error {
		for i := range c.nodes {
			n := c.node(i)
			st, err := n.Status(context.Background())
			if err != nil {
				return err
			}
			if len(st.Shards) != c.shards+1 {
				return fmt.Errorf("%s sees %d shards", c.cfgs[i].Name, len(st.Shards))
			}
			for _, s := range st.Shards {
				if len(s.Replicas) != len(c.nodes) || s.Leader == 0 {
					return fmt.Errorf("%s: shard %d: voters %v, leader %d, term %d", c.cfgs[i].Name, s.ID, s.Replicas, s.Leader, s.Term)
				}
			}
		}
		return nil
	})
}

// permanentErr ends a powerPoll at once.
type permanentErr struct{ error }

// permanent marks err as one that waiting will not fix.
func permanent(err error) error { return permanentErr{err} }

func powerPoll(t *testing.T, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if pe, ok := err.(permanentErr); ok {
			t.Fatal(pe.error)
		}
		if time.Now().After(deadline) {
			t.Fatalf("still failing after %v: %v", timeout, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not synchronisation
	}
}

// acked is what the cluster acknowledged: messages at their seqs,
// accounts, memberships and rooms.
type acked struct {
	mu       sync.Mutex
	msgs     map[string]map[uint64]parley.MsgID // room → seq → id
	accounts map[string]string                  // user → password
	members  map[string][]string                // room → users
}

func newAcked() *acked {
	return &acked{msgs: map[string]map[uint64]parley.MsgID{}, accounts: map[string]string{}, members: map[string][]string{}}
}

// counts returns how many messages, accounts and memberships were
// acknowledged.
func (a *acked) counts() (msgs, accounts, members int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, m := range a.msgs {
		msgs += len(m)
	}
	for _, u := range a.members {
		members += len(u)
	}
	return msgs, len(a.accounts), members
}

// work makes accounts, joins rooms and sends messages through any running
// node until ctx ends, recording what was acknowledged. Operations that
// fail (a node lost power under them) are simply not acknowledged.
func (c *powerCluster) work(ctx context.Context, a *acked, worker int) {
	for k := 0; ctx.Err() == nil; k++ {
		n := c.up(worker + k)
		if n == nil {
			continue
		}
		octx, cancel := context.WithTimeout(ctx, 3*time.Second)
		room := fmt.Sprintf("room-%d", k%5)
		switch k % 10 {
		case 0:
			user, pw := fmt.Sprintf("u%d-%d", worker, k), fmt.Sprintf("pw-%d-%d", worker, k)
			if n.Login(octx, user, pw) == nil {
				a.mu.Lock()
				a.accounts[user] = pw
				a.mu.Unlock()
			}
		case 5:
			user := fmt.Sprintf("m%d-%d", worker, k)
			if _, err := n.Join(octx, room, user); err == nil {
				a.mu.Lock()
				a.members[room] = append(a.members[room], user)
				a.mu.Unlock()
			}
		default:
			id := parley.NewMsgID(time.Now())
			res, err := n.Send(octx, SendParams{Room: room, User: fmt.Sprintf("w%d", worker), ID: id, Text: id.String()})
			if err == nil {
				a.mu.Lock()
				if a.msgs[room] == nil {
					a.msgs[room] = map[uint64]parley.MsgID{}
				}
				a.msgs[room][res.Seq] = id
				a.mu.Unlock()
			}
		}
		cancel()
	}
}

// check verifies, on every node, that nothing acknowledged is lost and
// that the replicas agree on every room, account and registry record.
func (c *powerCluster) check(a *acked) {
	c.t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Every node must hold every acknowledged message at its seq, and all
	// must hold the same log; a send that failed when the power went may
	// still commit a little later, so the agreement is polled for.
	powerPoll(c.t, 60*time.Second, func() error {
		var first map[string][]parley.Message
		for i := range c.nodes {
			n, name := c.node(i), c.cfgs[i].Name
			logs := map[string][]parley.Message{}
			for room, want := range a.msgs {
				msgs, _, err := n.History(ctx, room, "checker", HistoryQuery{From: 1, Limit: MaxHistory})
				if err != nil {
					return err
				}
				for seq, id := range want {
					if seq > uint64(len(msgs)) || msgs[seq-1].ID != id {
						return permanent(fmt.Errorf("%s: room %s: acknowledged message %s at seq %d is lost (the room has %d messages)", name, room, id, seq, len(msgs)))
					}
				}
				logs[room] = msgs
			}
			if first == nil {
				first = logs
				continue
			}
			for room, msgs := range logs {
				if !slices.EqualFunc(msgs, first[room], func(x, y parley.Message) bool {
					return x.Seq == y.Seq && x.ID == y.ID && x.Text == y.Text && x.User == y.User && x.TS.Equal(y.TS)
				}) {
					return fmt.Errorf("room %s: %s holds %d messages, %s %d, and they differ", room, name, len(msgs), c.cfgs[0].Name, len(first[room]))
				}
			}
		}
		return nil
	})
	for i := range c.nodes {
		n, name := c.node(i), c.cfgs[i].Name
		for user, pw := range a.accounts {
			if err := n.Login(ctx, user, pw); err != nil {
				c.t.Fatalf("%s: account %s lost: %v", name, user, err)
			}
			if err := n.Login(ctx, user, pw+"-wrong"); !errors.Is(err, parley.ErrUnauthorized) {
				c.t.Fatalf("%s: account %s: a wrong password got %v, want unauthorized", name, user, err)
			}
		}
		for room, users := range a.members {
			got, err := n.Members(ctx, room, "checker")
			if err != nil {
				c.t.Fatalf("%s: members of %s: %v", name, room, err)
			}
			for _, u := range users {
				if !slices.Contains(got, u) {
					c.t.Fatalf("%s: %s's membership of %s is lost (members %v)", name, u, room, got)
				}
			}
		}
	}
	// The registry: nodes, rooms and placements are the same everywhere.
	powerPoll(c.t, 60*time.Second, func() error {
		var want string
		for i := range c.nodes {
			n := c.node(i)
			if err := n.readBarrierOn(ctx, placement.RegistryShard); err != nil {
				return err
			}
			nodes, err := n.Nodes()
			if err != nil {
				return err
			}
			rooms, err := n.Rooms()
			if err != nil {
				return err
			}
			if len(nodes) != len(c.nodes) {
				return fmt.Errorf("%s lists %d nodes, want %d", c.cfgs[i].Name, len(nodes), len(c.nodes))
			}
			got := fmt.Sprintf("nodes %v rooms %v", nodes, rooms)
			for _, s := range placement.RoomShards(c.shards) {
				p, err := n.placement(s)
				if err != nil {
					return err
				}
				got += fmt.Sprintf(" placement %v", p)
			}
			if i == 0 {
				want = got
			} else if got != want {
				return fmt.Errorf("registries differ:\n%s: %s\n%s: %s", c.cfgs[0].Name, want, c.cfgs[i].Name, got)
			}
		}
		return nil
	})
	count := 0
	for _, m := range a.msgs {
		count += len(m)
	}
	members := 0
	for _, u := range a.members {
		members += len(u)
	}
	c.t.Logf("checked %d acknowledged messages in %d rooms, %d accounts, %d memberships on %d nodes",
		count, len(a.msgs), len(a.accounts), members, len(c.nodes))
}

// TestPowerLoss cuts the power of one node (a follower or the leader of
// some shards), then of another, while clients work, and checks after
// each cut that nothing the cluster acknowledged is lost and that the
// replicas agree.
func TestPowerLoss(t *testing.T) {
	runPowerCuts(t, [][]int{{2}, {0}})
}

// TestPowerLossMajority cuts the power of two nodes at once, then of all
// three, and checks the same.
func TestPowerLossMajority(t *testing.T) {
	runPowerCuts(t, [][]int{{1, 2}, {0, 1, 2}})
}

// runPowerCuts starts a 3-node cluster and, for each set of nodes in
// cuts, lets clients work, cuts the power of those nodes at once,
// restarts them and checks the cluster.
func runPowerCuts(t *testing.T, cuts [][]int) {
	c := startPowerCluster(t, 3)
	a := newAcked()
	for _, cut := range cuts {
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.work(ctx, a, w)
			}()
		}
		msgs0, accounts0, members0 := a.counts()
		powerPoll(t, 60*time.Second, func() error { // let new work be acknowledged first
			msgs, accounts, members := a.counts()
			if msgs < msgs0+20 || accounts == accounts0 || members == members0 {
				return fmt.Errorf("only %d messages, %d accounts, %d memberships acknowledged", msgs, accounts, members)
			}
			return nil
		})
		t.Logf("cutting the power of nodes %v", cut)
		c.cutPower(cut...)
		cancel()
		wg.Wait()
		c.waitFormed()
		c.check(a)
	}
}
