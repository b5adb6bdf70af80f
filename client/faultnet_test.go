package client

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file holds the tests' fault injection: a faultNet gives every QUIC
// connection a Client dials its own UDP socket (through dialPacketConn) and
// loses that socket's packets on demand, per node address. The node and
// the network stack stay real; only delivery fails, as with a pulled cable
// or a frozen machine.

// Directions in which a faultNet loses a node's packets.
const (
	// dropReplies loses what the node sends: requests still arrive and
	// are served, but no answer ever comes back.
	dropReplies = 1 << iota
	// dropRequests loses what the Client sends to the node.
	dropRequests
	// dropAll is a node that vanished without a word.
	dropAll = dropReplies | dropRequests
)

// faultNet hands out the Clients' UDP sockets and loses their packets on
// demand.
type faultNet struct {
	mu    sync.Mutex
	drop  map[string]int // node address → drop* bits
	dials map[string]int // sockets opened per node address
	open  int            // sockets not closed yet
}

// installFaultNet makes every Client dialed from now until the test ends
// use a faultNet's sockets.
func installFaultNet(t *testing.T) *faultNet {
	fn := &faultNet{drop: make(map[string]int), dials: make(map[string]int)}
	prev := dialPacketConn
	dialPacketConn = fn.listen
	t.Cleanup(func() { dialPacketConn = prev })
	return fn
}

// cut starts losing the packets of the node at addr in the directions dir,
// on its open connections and on those dialed later.
func (fn *faultNet) cut(addr string, dir int) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	fn.drop[addr] = dir
}

// dropping reports whether a packet to (in false) or from (in true) the
// node at addr is lost.
func (fn *faultNet) dropping(addr string, in bool) bool {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	if in {
		return fn.drop[addr]&dropReplies != 0
	}
	return fn.drop[addr]&dropRequests != 0
}

// dialed returns how many sockets were opened to talk to addr.
func (fn *faultNet) dialed(addr string) int {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.dials[addr]
}

// totalDialed returns how many sockets were opened, to any node.
func (fn *faultNet) totalDialed() int {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	n := 0
	for _, d := range fn.dials {
		n += d
	}
	return n
}

// openSockets returns how many sockets are not closed yet.
func (fn *faultNet) openSockets() int {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	return fn.open
}

// listen is the dialPacketConn hook: a fresh loopback UDP socket for one
// connection to addr.
func (fn *faultNet) listen(addr string) (net.PacketConn, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fault net: %w", err)
	}
	fn.mu.Lock()
	fn.dials[addr]++
	fn.open++
	fn.mu.Unlock()
	return &faultConn{PacketConn: pc, fn: fn, addr: addr}, nil
}

// faultConn is one connection's socket; it loses packets as its faultNet
// says. Each socket talks to one node only.
type faultConn struct {
	net.PacketConn
	fn   *faultNet
	addr string // the node's address
	once sync.Once
}

// WriteTo sends p, or pretends to.
func (c *faultConn) WriteTo(p []byte, to net.Addr) (int, error) {
	if c.fn.dropping(c.addr, false) {
		return len(p), nil
	}
	return c.PacketConn.WriteTo(p, to)
}

// ReadFrom returns the next packet that is not lost.
func (c *faultConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.PacketConn.ReadFrom(p)
		if err != nil || !c.fn.dropping(c.addr, true) {
			return n, from, err
		}
	}
}

// Close closes the socket and counts it closed, once.
func (c *faultConn) Close() error {
	c.once.Do(func() {
		c.fn.mu.Lock()
		c.fn.open--
		c.fn.mu.Unlock()
	})
	return c.PacketConn.Close()
}

// clientFrame matches a stack frame in this package's non-test code.
var clientFrame = regexp.MustCompile(`github\.com/parleychat/parley/client\.(\(\*[a-zA-Z]+\)\.)?[a-z]`)

// clientGoroutines returns the stacks of the goroutines running code of
// this package, other than test goroutines.
func clientGoroutines() []string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "testing.tRunner") || strings.Contains(g, "testing.(*T).Run") {
			continue
		}
		if clientFrame.MatchString(g) {
			out = append(out, g)
		}
	}
	return out
}

// noLeaks waits until no goroutine of a Client runs and every socket fn
// handed out is closed (so every QUIC connection has ended).
func noLeaks(t *testing.T, fn *faultNet) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		var errs []error
		if gs := clientGoroutines(); len(gs) > 0 {
			errs = append(errs, fmt.Errorf("%d client goroutines still run:\n%s", len(gs), strings.Join(gs, "\n\n")))
		}
		if fn != nil {
			if n := fn.openSockets(); n > 0 {
				errs = append(errs, fmt.Errorf("%d sockets still open", n))
			}
		}
		return errors.Join(errs...)
	})
}
