package daemon

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"sync"

	"github.com/parleychat/parley"
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

// presence asks node n for the users with a live session on it, and who
// of them is typing where.
func (p *peers) presence(ctx context.Context, n chatcore.NodeRecord) (transport.PresenceResponse, error) {
	pc, err := p.conn(n.ID)
	if err != nil {
		return transport.PresenceResponse{}, err
	}
	var out transport.PresenceResponse
	for after := ""; ; {
		var resp transport.PresenceResponse
		if err := pc.call(ctx, n.ClientAddr, transport.OpPresence, transport.PresenceRequest{After: after}, &resp); err != nil {
			return out, fmt.Errorf("presence of node %d: %w", n.ID, err)
		}
		out.Users = append(out.Users, resp.Users...)
		out.Typing = append(out.Typing, resp.Typing...)
		if resp.Next == "" || resp.Next <= after {
			return out, nil
		}
		after = resp.Next
	}
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
	return fmt.Errorf("peers: node %d: %w", node, parley.ErrNotFound)
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

// peerConn is the slot of one node-to-node connection. Calls on it run
// concurrently, matched to their responses by id. A call that fails other
// than by the node's refusal (the node went away, or did not answer in
// time) closes the connection; the next call dials anew.
type peerConn struct {
	id   uint64
	conf *tls.Config

	mu   sync.Mutex // held while dialing, so a node is dialed once at a time
	addr string
	qc   *transport.Conn // the protocol connection, nil until dialed
}

// call makes one request on the connection to addr, dialing it if needed,
// and decodes the response body into resp.
func (pc *peerConn) call(ctx context.Context, addr, op string, req, resp any) error {
	tc, err := pc.get(ctx, addr)
	if err != nil {
		return err
	}
	err = tc.Call(ctx, op, req, resp)
	var te *transport.Error
	if err != nil && !errors.As(err, &te) {
		pc.drop(tc)
	}
	return err
}

// get returns the live connection to addr, dialing it with an anonymous
// hello if there is none; the welcome must come from the node expected.
func (pc *peerConn) get(ctx context.Context, addr string) (*transport.Conn, error) {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.qc != nil && (pc.addr != addr || pc.qc.Err() != nil) {
		pc.qc.Close()
		pc.qc = nil
	}
	if pc.qc != nil {
		return pc.qc, nil
	}
	tc, w, err := transport.Connect(ctx, addr, transport.ConnectOptions{TLS: pc.conf, Hello: nodeHello()})
	if err != nil {
		return nil, err
	}
	if err := checkApplyVersion("peer", w.ApplyVersion); err != nil {
		tc.Close()
		return nil, err
	}
	if w.NodeID != pc.id {
		tc.Close()
		return nil, fmt.Errorf("welcome: %s is node %d, want %d", addr, w.NodeID, pc.id)
	}
	pc.addr, pc.qc = addr, tc
	return tc, nil
}

// drop closes tc and forgets it if it is still the slot's connection.
func (pc *peerConn) drop(tc *transport.Conn) {
	pc.mu.Lock()
	if pc.qc == tc {
		pc.qc = nil
	}
	pc.mu.Unlock()
	tc.Close()
}

// close closes the connection, if any.
func (pc *peerConn) close() {
	pc.mu.Lock()
	tc := pc.qc
	pc.qc = nil
	pc.mu.Unlock()
	if tc != nil {
		tc.Close()
	}
}
