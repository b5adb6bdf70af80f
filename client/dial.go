package client

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/parleychat/parley/transport"
	"github.com/quic-go/quic-go"
)

// dialAny tries every known server once, starting at c.next, and returns
// the first connection that completes the handshake.
func (c *Client) dialAny(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	servers := append([]string(nil), c.servers...)
	start := c.next
	c.mu.Unlock()
	var errs []error
	for i := range servers {
		idx := (start + i) % len(servers)
		cn, err := c.handshake(ctx, servers[idx])
		if err == nil {
			c.mu.Lock()
			c.next = idx
			c.mu.Unlock()
			return cn, nil
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dial: %w", errors.Join(append(errs, err)...))
		}
		if refused(err) {
			return nil, err
		}
		c.log.Warn("server unreachable", "addr", servers[idx], "err", err)
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("dial: no server reachable: %w", errors.Join(errs...))
}

// refused reports whether err from a handshake is a decision (the cluster
// refused the login, or its CA is not the pinned one) rather than a failure
// another node or a later attempt could fix. A node that answers
// unavailable (say, still starting) is not a decision: the next one is
// tried.
func refused(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Code != transport.CodeUnavailable
	}
	return errors.Is(err, transport.ErrCAChanged) || errors.Is(err, transport.ErrUnknownCA)
}

// handshake connects to addr and logs in, with the session token if the
// Client has one, else with the password. An unauthorized token is retried
// at once with the password.
func (c *Client) handshake(ctx context.Context, addr string) (*conn, error) {
	c.mu.Lock()
	token := c.token
	c.mu.Unlock()
	hello := transport.Hello{Version: transport.ProtocolVersion, User: c.opts.User}
	if token != "" {
		hello.Token = token
	} else {
		hello.Password = c.opts.Password
	}
	cn, err := c.handshakeWith(ctx, addr, hello)
	if err != nil && token != "" && c.opts.Password != "" &&
		transport.CodeOf(err) == transport.CodeUnauthorized {
		c.log.Info("session token refused; logging in with the password", "addr", addr)
		c.mu.Lock()
		if c.token == token {
			c.token = ""
		}
		c.mu.Unlock()
		hello.Token, hello.Password = "", c.opts.Password
		cn, err = c.handshakeWith(ctx, addr, hello)
	}
	return cn, err
}

// handshakeWith dials addr, says hello and reads the welcome. On success
// the connection's goroutines are running and the Client has learnt the
// cluster's nodes and its new token.
func (c *Client) handshakeWith(ctx context.Context, addr string, hello transport.Hello) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	tlsConf := transport.ClientTLSConfig(addr, c.pinnedCA, c.known)
	qc, err := c.dialQUIC(ctx, addr, tlsConf)
	if err != nil {
		return nil, err // already "dial <addr>: ..."
	}
	lv := newLiveness()
	ctl, fr, w, err := sayHello(ctx, qc, hello, lv)
	if err != nil {
		qc.CloseWithError(closeNormal, "")
		return nil, fmt.Errorf("hello %s: %w", addr, err)
	}
	ca := transport.PeerCA(qc.ConnectionState().TLS)
	node := c.learn(addr, w, ca)
	cn := newConn(c, qc, ctl, fr, lv, addr, node)
	cn.start()
	c.log.Info("connected", "addr", addr, "node", node.ID, "name", node.Name)
	return cn, nil
}

// dialPacketConn, when set, makes the UDP socket of each connection to
// addr, instead of transport.Dial's own, for every Client dialed from then
// on (Dial copies it into the Client). Tests set it to lose packets on
// purpose.
var dialPacketConn func(addr string) (net.PacketConn, error)

// dialQUIC opens a QUIC connection to addr, over the socket dialPC makes if
// set.
func (c *Client) dialQUIC(ctx context.Context, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	if c.dialPC == nil {
		return transport.Dial(ctx, addr, tlsConf)
	}
	pc, err := c.dialPC(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return transport.DialWith(ctx, pc, addr, tlsConf)
}

// sayHello opens the control stream, writes hello and reads the welcome.
// The returned reader reads the control stream through lv.reader. A
// refusal is returned as the welcome's *transport.Error.
func sayHello(ctx context.Context, qc *quic.Conn, hello transport.Hello, lv *liveness) (*quic.Stream, *transport.FrameReader, transport.Welcome, error) {
	var w transport.Welcome
	ctl, err := qc.OpenStreamSync(ctx)
	if err != nil {
		return nil, nil, w, fmt.Errorf("control stream: %w", err)
	}
	// Unblock the exchange when ctx ends.
	stop := context.AfterFunc(ctx, func() { ctl.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	fr := transport.NewFrameReader(lv.reader(ctl), transport.DefaultMaxFrame)
	err = transport.WriteFrame(ctl, hello, transport.DefaultMaxFrame)
	if err == nil {
		err = fr.Read(&w)
	}
	if !stop() {
		// ctx ended: whatever err says, the deadline may be set.
		if err == nil {
			err = ctx.Err()
		} else {
			err = fmt.Errorf("%w: %w", ctx.Err(), err)
		}
	}
	if err != nil {
		return nil, nil, w, fmt.Errorf("welcome: %w", err)
	}
	if w.Error != nil {
		return nil, nil, w, w.Error
	}
	return ctl, fr, w, nil
}

// learn records what a welcome tells: the session token, the other nodes'
// addresses (pinned to the same CA in known_clusters) and the node itself.
func (c *Client) learn(addr string, w transport.Welcome, ca *x509.Certificate) transport.NodeInfo {
	node := transport.NodeInfo{ID: w.NodeID, Addr: addr, Up: true}
	var addrs []string
	for _, n := range w.Nodes {
		if n.ID == w.NodeID {
			node.Name = n.Name
		}
		addrs = append(addrs, n.Addr)
	}
	addrs = advertisedAddrs(addrs)
	c.mu.Lock()
	if w.Token != "" {
		c.token = w.Token
	}
	c.servers = mergeServers(c.servers, addrs)
	if ca != nil {
		c.ca = ca
	}
	c.mu.Unlock()

	if c.known == nil || ca == nil {
		return node
	}
	// The dialed address was pinned by the handshake; pin the others to the
	// same CA so that a reconnect to them is checked too.
	fp := transport.Fingerprint(ca.Raw)
	for _, a := range addrs {
		if _, ok := c.known.Lookup(a); ok {
			continue
		}
		if err := c.known.Add(a, fp); err != nil {
			c.log.Warn("cannot pin node address", "addr", a, "err", err)
		}
	}
	return node
}
