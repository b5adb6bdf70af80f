package client

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley/transport"
	"github.com/quic-go/quic-go"
)

// This file holds a stand-in for a Parley cluster, good enough to drive the
// SDK over real QUIC and TLS on 127.0.0.1: nodes that speak the wire
// protocol over one shared in-memory store (what Raft would replicate), and
// that can be made to fail. It is not the real server and checks nothing
// about it; it lets the SDK's reconnect, retry and resume logic be tested
// until the real cluster exists.

const (
	fakePassword = "correct horse"
	fakeHistCap  = 100 // most messages per history reply
)

// fakeCluster is the shared state of the fake nodes.
type fakeCluster struct {
	t     *testing.T
	ca    *transport.CA
	nodes []*fakeNode

	mu      sync.Mutex
	rooms   map[string][]transport.Message
	dedup   map[transport.MsgID]transport.Message
	changed chan struct{} // closed and replaced at every commit
}

// newFakeCluster starts n nodes until the test ends.
func newFakeCluster(t *testing.T, n int) *fakeCluster {
	t.Helper()
	certPEM, keyPEM, err := transport.NewCA("test")
	if err != nil {
		t.Fatal(err)
	}
	ca, err := transport.LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	cl := &fakeCluster{
		t:       t,
		ca:      ca,
		rooms:   make(map[string][]transport.Message),
		dedup:   make(map[transport.MsgID]transport.Message),
		changed: make(chan struct{}),
	}
	for i := range n {
		cl.nodes = append(cl.nodes, cl.startNode(uint64(i+1)))
	}
	for _, n := range cl.nodes {
		n.wg.Add(1)
		go n.acceptLoop()
	}
	t.Cleanup(func() {
		for _, n := range cl.nodes {
			n.kill(false)
			n.wg.Wait()
		}
	})
	return cl
}

// caFile writes the cluster CA to a file for Options.CAFile.
func (cl *fakeCluster) caFile() string {
	p := filepath.Join(cl.t.TempDir(), "ca.pem")
	if err := os.WriteFile(p, cl.ca.CertPEM, 0o600); err != nil {
		cl.t.Fatal(err)
	}
	return p
}

func (cl *fakeCluster) nodeInfos() []transport.NodeInfo {
	var out []transport.NodeInfo
	for _, n := range cl.nodes {
		out = append(out, transport.NodeInfo{ID: n.id, Name: fmt.Sprintf("node%d", n.id), Addr: n.addr, Up: !n.isDead()})
	}
	return out
}

// commit appends a message unless its id is known.
func (cl *fakeCluster) commit(user, room string, id transport.MsgID, text string) (transport.Message, bool) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	if m, ok := cl.dedup[id]; ok {
		return m, true
	}
	m := transport.Message{
		Room: room,
		Seq:  uint64(len(cl.rooms[room]) + 1),
		ID:   id,
		User: user,
		TS:   time.Now().UnixNano(),
		Text: text,
	}
	cl.rooms[room] = append(cl.rooms[room], m)
	cl.dedup[id] = m
	close(cl.changed)
	cl.changed = make(chan struct{})
	return m, false
}

// post commits n messages to room directly, as other clients would.
func (cl *fakeCluster) post(room string, n int) {
	for i := range n {
		cl.commit("bob", room, transport.NewMsgID(time.Now()), fmt.Sprintf("m%d", i))
	}
}

// since returns room's messages from seq from on, its last seq, and a
// channel closed at the next commit.
func (cl *fakeCluster) since(room string, from uint64) ([]transport.Message, uint64, <-chan struct{}) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	msgs := cl.rooms[room]
	last := uint64(len(msgs))
	if from < 1 {
		from = 1
	}
	if from > last {
		return nil, last, cl.changed
	}
	return append([]transport.Message(nil), msgs[from-1:]...), last, cl.changed
}

// fakeNode is one node: a QUIC listener on its own UDP socket.
// startNode listens; newFakeCluster starts accepting once every node is
// listening.
type fakeNode struct {
	cl   *fakeCluster
	id   uint64
	addr string
	udp  *net.UDPConn
	tr   *quic.Transport
	ln   *quic.Listener
	wg   sync.WaitGroup

	mu    sync.Mutex
	conns map[*quic.Conn]bool
	dead  bool

	// Counters.
	handshakes atomic.Int32 // hellos received
	sends      atomic.Int32 // send requests received
	streams    atomic.Int32 // subscription streams open

	// Faults, armed by tests.
	dropSendReply    atomic.Bool  // commit the next send, then die without replying
	unavailableSends atomic.Int32 // refuse this many sends with unavailable
	gapOnce          atomic.Bool  // skip one seq on a subscription stream
	endStreams       atomic.Bool  // end the next subscription stream with forbidden
	rejectTokens     atomic.Bool  // refuse session tokens (say, after a restart)
}

func (cl *fakeCluster) startNode(id uint64) *fakeNode {
	t := cl.t
	keyPEM, pub, err := transport.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := cl.ca.IssueNodeCert(pub, fmt.Sprintf("node%d", id), nil)
	if err != nil {
		t.Fatal(err)
	}
	tlsConf, err := transport.ServerTLSConfig(certPEM, keyPEM, cl.ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{cl: cl, id: id, addr: udp.LocalAddr().String(), udp: udp, conns: make(map[*quic.Conn]bool)}
	n.tr = &quic.Transport{Conn: udp}
	n.ln, err = n.tr.Listen(tlsConf, transport.QUICConfig())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *fakeNode) isDead() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.dead
}

// kill stops the node. A silent kill drops everything without telling the
// clients, like a pulled plug: they notice by the idle timeout.
func (n *fakeNode) kill(silent bool) {
	n.mu.Lock()
	if n.dead {
		n.mu.Unlock()
		return
	}
	n.dead = true
	conns := n.conns
	n.conns = nil
	n.mu.Unlock()
	if !silent {
		for qc := range conns {
			qc.CloseWithError(1, "node killed")
		}
	}
	n.ln.Close()
	n.tr.Close()
	n.udp.Close()
}

func (n *fakeNode) acceptLoop() {
	defer n.wg.Done()
	for {
		qc, err := n.ln.Accept(context.Background())
		if err != nil {
			return
		}
		n.mu.Lock()
		if n.dead {
			n.mu.Unlock()
			qc.CloseWithError(1, "node killed")
			return
		}
		n.conns[qc] = true
		n.mu.Unlock()
		n.wg.Add(1)
		go n.serve(qc)
	}
}

// serve runs one client connection: hello, then requests.
func (n *fakeNode) serve(qc *quic.Conn) {
	defer n.wg.Done()
	defer func() {
		n.mu.Lock()
		delete(n.conns, qc)
		n.mu.Unlock()
	}()
	ctl, err := qc.AcceptStream(qc.Context())
	if err != nil {
		return
	}
	fr := transport.NewFrameReader(ctl, transport.DefaultMaxFrame)
	var wmu sync.Mutex
	write := func(v any) {
		wmu.Lock()
		defer wmu.Unlock()
		transport.WriteFrame(ctl, v, transport.DefaultMaxFrame)
	}
	var h transport.Hello
	if err := fr.Read(&h); err != nil {
		return
	}
	n.handshakes.Add(1)
	tokenOK := h.Token != "" && h.Token == "token-"+h.User && !n.rejectTokens.Load()
	if !(h.Password == fakePassword || tokenOK) {
		write(transport.Welcome{Error: transport.Errorf(transport.CodeUnauthorized, "wrong password")})
		ctl.Close()
		<-qc.Context().Done()
		return
	}
	write(transport.Welcome{ClusterID: "test", NodeID: n.id, Token: "token-" + h.User, Nodes: n.cl.nodeInfos()})
	for {
		var req transport.Request
		if err := fr.Read(&req); err != nil {
			qc.CloseWithError(0, "")
			return
		}
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.handle(qc, h.User, req, write)
		}()
	}
}

func (n *fakeNode) handle(qc *quic.Conn, user string, req transport.Request, write func(any)) {
	reply := func(body any) {
		b, err := transport.Marshal(body)
		if err != nil {
			panic(err)
		}
		write(transport.Response{ID: req.ID, Body: b})
	}
	refuse := func(e *transport.Error) { write(transport.Response{ID: req.ID, Error: e}) }
	switch req.Op {
	case transport.OpSend:
		var r transport.SendRequest
		if err := transport.Unmarshal(req.Body, &r); err != nil {
			refuse(transport.Errorf(transport.CodeInvalid, "%v", err))
			return
		}
		n.sends.Add(1)
		if n.unavailableSends.Add(-1) >= 0 {
			refuse(&transport.Error{Code: transport.CodeUnavailable, Message: "no quorum", RetryMillis: 5})
			return
		}
		n.unavailableSends.Store(0)
		m, dup := n.cl.commit(user, r.Room, r.ID, r.Text)
		if n.dropSendReply.CompareAndSwap(true, false) {
			n.kill(false)
			return
		}
		reply(transport.SendResponse{Room: m.Room, Seq: m.Seq, ID: m.ID, TS: m.TS, Duplicate: dup})
	case transport.OpHistory:
		var r transport.HistoryRequest
		if err := transport.Unmarshal(req.Body, &r); err != nil {
			refuse(transport.Errorf(transport.CodeInvalid, "%v", err))
			return
		}
		all, last, _ := n.cl.since(r.Room, 1)
		var msgs []transport.Message
		if r.Last > 0 {
			msgs = all[max(0, len(all)-min(r.Last, fakeHistCap)):]
		} else {
			from := max(r.From, 1)
			limit := r.Limit
			if limit <= 0 || limit > fakeHistCap {
				limit = fakeHistCap
			}
			if from <= last {
				msgs = all[from-1 : min(int(from-1)+limit, len(all))]
			}
		}
		reply(transport.HistoryResponse{Messages: msgs, LastSeq: last})
	case transport.OpSubscribe:
		var r transport.SubscribeRequest
		if err := transport.Unmarshal(req.Body, &r); err != nil {
			refuse(transport.Errorf(transport.CodeInvalid, "%v", err))
			return
		}
		if strings.HasPrefix(r.Room, "secret") {
			refuse(transport.Errorf(transport.CodeForbidden, "not a member of %s", r.Room))
			return
		}
		from := r.From
		if from == 0 {
			_, last, _ := n.cl.since(r.Room, 1)
			from = last + 1
		}
		reply(transport.SubscribeResponse{From: from})
		n.stream(qc, r.Sub, r.Room, from)
	case transport.OpStatus:
		reply(transport.StatusResponse{
			Nodes:  n.cl.nodeInfos(),
			Shards: []transport.ShardStatus{{ID: 1, Leader: n.id, Term: 3, Replicas: []uint64{1, 2}}},
		})
	default:
		refuse(transport.Errorf(transport.CodeInvalid, "unknown op %q", req.Op))
	}
}

// stream runs one subscription stream: stored messages from seq from on,
// then live ones, until the client cancels it or the connection ends.
func (n *fakeNode) stream(qc *quic.Conn, sub uint64, room string, from uint64) {
	us, err := qc.OpenUniStreamSync(qc.Context())
	if err != nil {
		return
	}
	n.streams.Add(1)
	defer n.streams.Add(-1)
	if err := transport.WriteFrame(us, transport.SubscribeHeader{Sub: sub}, transport.DefaultMaxFrame); err != nil {
		return
	}
	next := from
	for {
		msgs, _, changed := n.cl.since(room, next)
		for _, m := range msgs {
			next = m.Seq + 1
			if n.gapOnce.CompareAndSwap(true, false) {
				continue
			}
			if n.endStreams.CompareAndSwap(true, false) {
				transport.WriteFrame(us, transport.Event{Error: transport.Errorf(transport.CodeForbidden, "removed from %s", room)}, transport.DefaultMaxFrame)
				us.Close()
				return
			}
			if err := transport.WriteFrame(us, transport.Event{Msg: &m}, transport.DefaultMaxFrame); err != nil {
				return
			}
		}
		select {
		case <-changed:
		case <-us.Context().Done():
			return
		case <-qc.Context().Done():
			return
		}
	}
}

// testLogger logs through t until the test ends.
func testLogger(t *testing.T) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

var _ io.Writer = (*testWriter)(nil)
