// Package client is the Go SDK for Parley, for bots and the parley CLI.
//
// A Client holds one QUIC connection to one node of a cluster and multiplexes
// every request and subscription over it. When that node dies or the network
// drops, the Client reconnects to another node of the cluster by itself and
// carries on:
//
//   - a Send in flight is retried on the new connection with the same message
//     id until it is acknowledged or its context ends; the cluster drops the
//     duplicate, so the message is committed once;
//   - a Subscription resumes after the last message it delivered, so its
//     consumer sees every message once, in seq order, with no gap.
//
// A node that dies without closing the connection (kill -9, a pulled cable,
// a frozen machine) is noticed within Options.ProbeTimeout, 375 ms by
// default: a connection that has heard nothing from its node for a while
// pings it, and gives it up when even the ping goes unanswered.
//
// The package imports only the wire protocol (package transport) and
// third-party code, never the server side.
package client

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parleychat/parley/transport"
)

// ErrClosed is returned by the operations of a Client that has been closed.
var ErrClosed = errors.New("client closed")

// ErrNoAnswer is returned by Dial when no server completed a QUIC
// handshake: nothing that speaks Parley answered at any address given.
var ErrNoAnswer = errors.New("no Parley node answered")

// Options configures Dial.
type Options struct {
	// Servers lists "host:port" QUIC addresses of cluster nodes; at least
	// one. Dial starts at a random one. The addresses of the other nodes
	// are learnt from the cluster and added to this list.
	Servers []string
	// User and Password log in. After the first login the Client
	// re-authenticates with the session token the cluster gave it.
	User, Password string
	// Invite is the invite code a new account signs up with when the
	// cluster's sign-up is by invite (parley admin set signup invite).
	Invite string
	// CAFile, if set, is a PEM file with the cluster CA: only a server
	// presenting that CA is accepted, and known_clusters is not used.
	CAFile string
	// KnownClustersPath is the known_clusters file used to pin the cluster
	// CA on first use when CAFile is empty. Default:
	// transport.DefaultKnownClustersPath().
	KnownClustersPath string
	// Logger receives the Client's diagnostics. Default: discard.
	Logger *slog.Logger
	// OnState, if set, is told of connection-state changes, for UIs. It is
	// called from a goroutine of the Client, never concurrently with itself,
	// in the order the changes happened. Closed is the last call; it may
	// arrive after Close has returned.
	OnState func(State)
	// ProbeInterval is how long the connection may go without hearing
	// from the node (no response, no subscription data: nothing at all)
	// before the Client pings the node to learn whether it is still there.
	// A busy connection never pings. Default DefaultProbeInterval.
	// Negative turns the probe off: a node that dies without closing the
	// connection (kill -9, a pulled cable, a frozen machine) is then
	// noticed only by QUIC's idle timeout, seconds later (see
	// transport.QUICConfig).
	ProbeInterval time.Duration
	// ProbeTimeout is how long the connection may go without hearing from
	// the node before the Client gives the node up and reconnects to
	// another, where its sends and subscriptions carry on. It must exceed
	// ProbeInterval: the difference is the time the node has to answer a
	// ping. Default DefaultProbeMisses × ProbeInterval. On a slow or
	// congested link (a crowded WiFi, a phone network) raise both, say to
	// 1 s and 5 s: a node given up too early costs a reconnect, never a
	// message. Beyond QUIC's idle timeout it has no effect.
	ProbeTimeout time.Duration
	// ConnectTimeout bounds the QUIC handshake with each server, before
	// the login: a node answers it in milliseconds, so an address where it
	// times out has no node. 0 leaves it to the handshake's own timeout
	// (several seconds). Dial fails with ErrNoAnswer when no server
	// answered at all.
	ConnectTimeout time.Duration
}

// Client is a connection to a Parley cluster that survives the loss of any
// one node. It is safe for concurrent use. Make one with Dial and release
// it with Close.
type Client struct {
	opts   Options
	log    *slog.Logger
	trust  transport.Trust
	notify *notifier
	dialPC func(addr string) (net.PacketConn, error) // see dialPacketConn
	// probeEvery and probeTimeout are the resolved ProbeInterval and
	// ProbeTimeout; probeEvery is 0 when the probe is off.
	probeEvery, probeTimeout time.Duration

	// ctx ends when the Client is closed; every goroutine of the Client
	// watches it and is counted in wg.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	subIDs atomic.Uint64

	mu      sync.Mutex
	servers []string // every address known, seeds first
	next    int      // index in servers of the address last dialed
	conn    *conn    // nil while reconnecting
	ready   chan struct{}
	token   string
	// newPassword is the password a ChangePassword in flight sets: a
	// reconnect tries it when the old one is refused (the change may have
	// committed with its answer lost).
	newPassword string
	node        transport.NodeInfo
	ca          *x509.Certificate // the cluster CA the last handshake verified
	closed      bool
}

// Dial connects to the cluster. It tries each server once, in turn,
// starting at a random one, until one completes the handshake. A refusal
// by the cluster (a *transport.Error such as unauthorized; only
// unavailable moves on to the next server) and a CA pinning failure
// (wrapping transport.ErrCAChanged or transport.ErrUnknownCA) are returned
// at once without trying further servers. ctx bounds the dialing only, not
// the life of the Client.
func Dial(ctx context.Context, opts Options) (*Client, error) {
	for _, a := range opts.Servers {
		if err := checkServer(a); err != nil {
			return nil, fmt.Errorf("options: %w", err)
		}
	}
	servers := mergeServers(nil, opts.Servers)
	if len(servers) == 0 {
		return nil, errors.New("options: no servers")
	}
	if opts.User == "" {
		return nil, errors.New("options: no user")
	}
	every, timeout, err := probeTimes(opts)
	if err != nil {
		return nil, fmt.Errorf("options: %w", err)
	}
	c := &Client{
		opts:    opts,
		log:     opts.Logger,
		servers: servers,
		next:    rand.IntN(len(servers)),
		dialPC:  dialPacketConn,

		probeEvery:   every,
		probeTimeout: timeout,
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.trust, err = transport.LoadTrust(opts.CAFile, opts.KnownClustersPath); err != nil {
		return nil, err
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	cn, err := c.dialAny(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.ready = make(chan struct{})
	c.install(cn)
	c.notify = newNotifier(opts.OnState)
	c.notify.emit(Connected)
	c.wg.Add(1)
	go c.run(cn)
	return c, nil
}

// Node returns the node the Client is connected to, or was last connected
// to while it reconnects. Addr is the address the Client dialed.
func (c *Client) Node() transport.NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.node
}

// ClusterCA returns the cluster's CA certificate in PEM, as the last
// handshake verified it (pinned or given with Options.CAFile), or nil if
// none was seen. A browser that trusts it trusts the nodes' HTTPS web
// client (parleyd --https).
func (c *Client) ClusterCA() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ca == nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.ca.Raw})
}

// Close ends the connection and every Subscription (their Err is nil), and
// waits for the Client's goroutines to finish. Operations in flight return
// ErrClosed. Close is idempotent and always returns nil.
func (c *Client) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
	return nil
}

// current returns the live connection, waiting while the Client
// reconnects.
func (c *Client) current(ctx context.Context) (*conn, error) {
	for {
		c.mu.Lock()
		cn, ready, closed := c.conn, c.ready, c.closed
		c.mu.Unlock()
		if closed {
			return nil, ErrClosed
		}
		if cn != nil {
			return cn, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// install makes cn the live connection.
func (c *Client) install(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conn = cn
	c.node = cn.node
	close(c.ready)
}

// detach forgets cn as the live connection, so that callers wait for the
// next one. conn.fail calls it before it reports the connection dead.
func (c *Client) detach(cn *conn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conn == cn {
		c.conn = nil
		c.ready = make(chan struct{})
	}
}

// goTracked starts f as a goroutine counted by Close, unless the Client is
// closed.
func (c *Client) goTracked(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f()
	}()
	return true
}
