package client

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/parleychat/parley/transport"
)

// dialAny tries every known server once, starting at c.next, and returns
// the first connection that completes the handshake.
func (c *Client) dialAny(ctx context.Context) (*conn, error) {
	c.mu.Lock()
	servers := append([]string(nil), c.servers...)
	start := c.next
	c.mu.Unlock()
	var errs []error
	silent := 0
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
		if errors.Is(err, transport.ErrNoAnswer) {
			silent++
		}
	}
	if silent == len(servers) {
		return nil, fmt.Errorf("%w at %s", ErrNoAnswer, strings.Join(servers, ", "))
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
	token, password, newPassword := c.token, c.opts.Password, c.newPassword
	c.mu.Unlock()
	hello := transport.Hello{Version: transport.ProtocolVersion, User: c.opts.User, Invite: c.opts.Invite}
	if token != "" {
		hello.Token = token
	} else {
		hello.Password = password
	}
	cn, err := c.handshakeWith(ctx, addr, hello)
	if err != nil && token != "" && password != "" &&
		transport.CodeOf(err) == transport.CodeUnauthorized {
		c.log.Info("session token refused; logging in with the password", "addr", addr)
		c.mu.Lock()
		if c.token == token {
			c.token = ""
		}
		c.mu.Unlock()
		hello.Token, hello.Password = "", password
		cn, err = c.handshakeWith(ctx, addr, hello)
	}
	if err != nil && newPassword != "" && transport.CodeOf(err) == transport.CodeUnauthorized {
		c.log.Info("password refused while changing it; trying the new one", "addr", addr)
		hello.Token, hello.Password = "", newPassword
		cn, err = c.handshakeWith(ctx, addr, hello)
	}
	// A node slows logins down after failed passwords, and checks one
	// password at a time per account: a short wait it asks for is waited
	// out here (another login of the same user may be running).
	giveUp := time.Now().Add(maxLoginWaiting)
	for {
		var te *transport.Error
		if !errors.As(err, &te) || te.Code != transport.CodeRateLimited || te.RetryAfter() > maxLoginWait ||
			time.Now().Add(te.RetryAfter()).After(giveUp) {
			break
		}
		c.log.Info("login slowed down by the node; waiting", "addr", addr, "wait", te.RetryAfter())
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(te.RetryAfter()):
		}
		cn, err = c.handshakeWith(ctx, addr, hello)
	}
	return cn, err
}

// A login refused as rate_limited is tried again after the node's hint if
// the hint is at most maxLoginWait, for at most maxLoginWaiting in all.
const (
	maxLoginWait    = 5 * time.Second
	maxLoginWaiting = 30 * time.Second
)

// handshakeWith dials addr, says hello and reads the welcome. On success
// the connection's probe is running and the Client has learnt the
// cluster's nodes and its new token.
func (c *Client) handshakeWith(ctx context.Context, addr string, hello transport.Hello) (*conn, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	cn := &conn{c: c, addr: addr, lv: newLiveness()}
	tc, w, err := transport.Connect(ctx, addr, transport.ConnectOptions{
		TLS:              c.trust.TLSConfig(addr),
		Hello:            hello,
		PacketConn:       c.dialPC,
		WrapRead:         cn.lv.reader,
		OnClose:          func(error) { c.detach(cn) },
		StreamHeaderWait: streamWait,
		Logger:           c.log,
		HandshakeTimeout: c.opts.ConnectTimeout,
	})
	if err != nil {
		return nil, err // "dial <addr>: ..." or "hello <addr>: ..."
	}
	cn.tc, cn.done = tc, tc.Done()
	cn.node = c.learn(addr, w, transport.PeerCA(tc.TLS()))
	cn.start()
	c.log.Info("connected", "addr", addr, "node", cn.node.ID, "name", cn.node.Name)
	return cn, nil
}

// dialPacketConn, when set, makes the UDP socket of each connection to
// addr, instead of transport.Dial's own, for every Client dialed from then
// on (Dial copies it into the Client). Tests set it to lose packets on
// purpose.
var dialPacketConn func(addr string) (net.PacketConn, error)

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

	// The dialed address was pinned by the handshake; pin the others to the
	// same CA so that a reconnect to them is checked too.
	for a, err := range c.trust.PinNew(addrs, ca) {
		c.log.Warn("cannot pin node address", "addr", a, "err", err)
	}
	return node
}
