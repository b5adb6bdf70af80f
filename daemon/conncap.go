package daemon

import (
	"fmt"
	"net"
	"sync"
)

// Connection caps: defaults of Config.MaxConns and Config.MaxConnsPerAddr.
const (
	// DefaultMaxConns bounds the connections one node serves at once.
	DefaultMaxConns = 2048
	// DefaultMaxConnsPerAddr bounds the connections from one source IP
	// address. It leaves room for a benchmark or a NAT'd subnet; an
	// attacker at one address holds at most this many.
	DefaultMaxConnsPerAddr = 256
)

// connCap counts the connections a node serves, in total and per source
// IP address, and refuses those beyond the caps.
type connCap struct {
	mu      sync.Mutex
	max     int
	perAddr int
	total   int
	byAddr  map[string]int
}

func newConnCap(max, perAddr int) *connCap {
	return &connCap{max: max, perAddr: perAddr, byAddr: make(map[string]int)}
}

// sourceIP is the address part of a remote address: connections from one
// host share one count whatever their ports.
func sourceIP(a net.Addr) string {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.IP.String()
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	return host
}

// remoteIP is the host part of a host:port remote address.
func remoteIP(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		return remote
	}
	return host
}

// acquire counts a connection from ip, or says which cap refuses it.
func (c *connCap) acquire(ip string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.total >= c.max {
		return fmt.Errorf("connection cap: the node serves %d connections, its limit", c.total)
	}
	if c.byAddr[ip] >= c.perAddr {
		return fmt.Errorf("connection cap: %d connections from %s, the limit per address", c.byAddr[ip], ip)
	}
	c.total++
	c.byAddr[ip]++
	return nil
}

// release forgets a connection from ip.
func (c *connCap) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.total--
	if c.byAddr[ip]--; c.byAddr[ip] <= 0 {
		delete(c.byAddr, ip)
	}
}
