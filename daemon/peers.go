package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// peers holds one reusable node-to-node connection per other node. A node
// dials another's client address like a client, but presents its node
// certificate and says an anonymous hello: the serving side recognises it
// as a node by its verified certificate chain (see session.peerNode).
type peers struct {
	srv *Server

	mu     sync.Mutex
	conf   *tls.Config
	conns  map[uint64]*peerConn
	closed bool
}

func newPeers(s *Server) *peers {
	return &peers{srv: s, conns: make(map[uint64]*peerConn)}
}

// errPeersClosed is returned after the server closed.
var errPeersClosed = errors.New("peers: closed")

// conn returns the connection slot of node id, making it on first use.
func (p *peers) conn(id uint64) (*peerConn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errPeersClosed
	}
	if p.conf == nil {
		m := p.srv.nodeTLS
		conf, err := transport.NodeClientTLSConfig(m.cert, m.key, m.ca)
		if err != nil {
			return nil, fmt.Errorf("peers: %w", err)
		}
		p.conf = conf
	}
	pc := p.conns[id]
	if pc == nil {
		pc = &peerConn{id: id, conf: p.conf}
		p.conns[id] = pc
	}
	return pc, nil
}

// presence asks node n for the users with a live session on it.
func (p *peers) presence(ctx context.Context, n chatcore.NodeRecord) ([]string, error) {
	pc, err := p.conn(n.ID)
	if err != nil {
		return nil, err
	}
	var resp transport.PresenceResponse
	if err := pc.call(ctx, n.ClientAddr, transport.OpPresence, transport.PresenceRequest{}, &resp); err != nil {
		return nil, fmt.Errorf("presence of node %d: %w", n.ID, err)
	}
	return resp.Users, nil
}

// Call makes one request of the node with id node (mapreduce.Caller): it
// finds the node's client address in the registry and asks over the node's
// reusable connection. resp may be nil for a response without a body.
func (p *peers) Call(ctx context.Context, node uint64, op string, req, resp any) error {
	recs, err := p.srv.node.Nodes()
	if err != nil {
		return fmt.Errorf("peers: %w", err)
	}
	for _, n := range recs {
		if n.ID != node {
			continue
		}
		pc, err := p.conn(n.ID)
		if err != nil {
			return err
		}
		if err := pc.call(ctx, n.ClientAddr, op, req, resp); err != nil {
			return fmt.Errorf("%s on node %d: %w", op, n.ID, err)
		}
		return nil
	}
	return fmt.Errorf("peers: node %d: %w", node, chatcore.ErrNotFound)
}

// close closes every connection; later calls fail.
func (p *peers) close() {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, pc := range conns {
		pc.close()
	}
}

// peerConn is one node-to-node connection. Requests on it take turns: a
// node asks another at most once per presenceTTL. A request that fails or
// times out closes the connection, so no late response can be taken for
// the next request's; the next request dials anew.
type peerConn struct {
	id   uint64
	conf *tls.Config

	mu   sync.Mutex
	addr string
	qc   *quic.Conn
	ctl  *quic.Stream
	fr   *transport.FrameReader
	next uint64
}

// call makes one request on the connection to addr, dialing it if needed,
// and decodes the response body into resp.
func (pc *peerConn) call(ctx context.Context, addr, op string, req, resp any) error {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.qc != nil && (pc.addr != addr || pc.qc.Context().Err() != nil) {
		pc.drop()
	}
	if pc.qc == nil {
		if err := pc.dial(ctx, addr); err != nil {
			return err
		}
	}
	err := pc.roundTrip(ctx, op, req, resp)
	var te *transport.Error
	if err != nil && !errors.As(err, &te) || ctx.Err() != nil {
		// The stream may be mid-frame or carry a deadline in the past.
		pc.drop()
	}
	return err
}

// dial connects to addr and says an anonymous hello; the welcome must come
// from the node expected.
func (pc *peerConn) dial(ctx context.Context, addr string) error {
	qc, err := transport.Dial(ctx, addr, pc.conf)
	if err != nil {
		return err
	}
	ctl, err := qc.OpenStreamSync(ctx)
	if err != nil {
		qc.CloseWithError(closeNormal, "")
		return fmt.Errorf("control stream: %w", err)
	}
	pc.addr, pc.qc, pc.ctl, pc.fr = addr, qc, ctl, transport.NewFrameReader(ctl, transport.DefaultMaxFrame)
	stop := pc.bound(ctx)
	defer stop()
	var w transport.Welcome
	err = transport.WriteFrame(ctl, transport.Hello{Version: transport.ProtocolVersion}, transport.DefaultMaxFrame)
	if err == nil {
		err = pc.fr.Read(&w)
	}
	switch {
	case err != nil:
		err = fmt.Errorf("welcome: %w", err)
	case w.Error != nil:
		err = w.Error
	case w.NodeID != pc.id:
		err = fmt.Errorf("welcome: %s is node %d, want %d", addr, w.NodeID, pc.id)
	}
	if err != nil {
		pc.drop()
	}
	return err
}

// roundTrip writes one request and reads its response.
func (pc *peerConn) roundTrip(ctx context.Context, op string, req, resp any) error {
	body, err := transport.Marshal(req)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	stop := pc.bound(ctx)
	defer stop()
	pc.next++
	if err := transport.WriteFrame(pc.ctl, transport.Request{ID: pc.next, Op: op, Body: body}, transport.DefaultMaxFrame); err != nil {
		return fmt.Errorf("request: %w", err)
	}
	var r transport.Response
	if err := pc.fr.Read(&r); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	if r.ID != pc.next {
		return fmt.Errorf("response: id %d, want %d", r.ID, pc.next)
	}
	if r.Error != nil {
		return r.Error
	}
	if resp == nil {
		return nil
	}
	if err := transport.Unmarshal(r.Body, resp); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return nil
}

// bound makes the control stream's reads and writes end with ctx: at its
// deadline, or at once when it is cancelled. The returned func undoes it.
func (pc *peerConn) bound(ctx context.Context) func() {
	d, ok := ctx.Deadline()
	if !ok {
		d = time.Time{}
	}
	ctl := pc.ctl
	ctl.SetDeadline(d)
	stop := context.AfterFunc(ctx, func() { ctl.SetDeadline(time.Unix(1, 0)) })
	return func() {
		stop()
		ctl.SetDeadline(time.Time{})
	}
}

// drop closes the connection; the caller holds mu.
func (pc *peerConn) drop() {
	if pc.qc != nil {
		pc.qc.CloseWithError(closeNormal, "")
	}
	pc.qc, pc.ctl, pc.fr = nil, nil, nil
}

func (pc *peerConn) close() {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	pc.drop()
}
