package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"syscall"

	"github.com/miekg/dns"
	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// Port is mDNS's UDP port (RFC 6762 3). A node announcing itself holds it
// on every address, so no other service of the node can use it.
const Port = 5353

// The mDNS groups (RFC 6762 3).
var (
	groupV4 = &net.UDPAddr{IP: net.IPv4(224, 0, 0, 251), Port: Port}
	groupV6 = &net.UDPAddr{IP: net.ParseIP("ff02::fb"), Port: Port}
)

// sender multicasts unsolicited responses (announcements and goodbyes) on
// every multicast interface. A response must come from port 5353 (RFC 6762
// 11; avahi drops others), which the library's server holds: the sender's
// sockets share it (SO_REUSEADDR, as the library's do) and discard what
// they receive, since the server answers queries.
type sender struct {
	log *slog.Logger
	wg  sync.WaitGroup

	mu     sync.Mutex
	v4, v6 net.PacketConn // nil where the family is unavailable
	// joined are the interfaces (by index) whose mDNS group a socket is a
	// member of, per family.
	joined4, joined6 map[int]bool
}

// newSender opens the sockets; it fails only if neither family has one.
func newSender(logger *slog.Logger) (*sender, error) {
	s := &sender{log: logger, joined4: make(map[int]bool), joined6: make(map[int]bool)}
	lc := net.ListenConfig{Control: reuseAddr}
	var err4, err6 error
	s.v4, err4 = lc.ListenPacket(context.Background(), "udp4", fmt.Sprintf(":%d", Port))
	s.v6, err6 = lc.ListenPacket(context.Background(), "udp6", fmt.Sprintf("[::]:%d", Port))
	if s.v4 == nil && s.v6 == nil {
		return nil, fmt.Errorf("mdns: no socket on port %d: %v; %v", Port, err4, err6)
	}
	for _, c := range []net.PacketConn{s.v4, s.v6} {
		if c != nil {
			s.wg.Add(1)
			go s.drain(c)
		}
	}
	return s, nil
}

func reuseAddr(network, address string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1)
	}); err != nil {
		return err
	}
	return serr
}

// drain reads and drops what reaches the sender's sockets until closed.
func (s *sender) drain(c net.PacketConn) {
	defer s.wg.Done()
	buf := make([]byte, 9000)
	for {
		if _, _, err := c.ReadFrom(buf); err != nil && !isTemporary(err) {
			return
		}
	}
}

func isTemporary(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// send multicasts one response with recs on every multicast interface that
// has an address of the family. Failures are logged: the library's server
// still answers queries.
func (s *sender) send(recs []dns.RR) {
	if len(recs) == 0 {
		return
	}
	buf, err := response(recs).Pack()
	if err != nil {
		s.log.Warn("mdns: pack announcement", "err", err)
		return
	}
	ifaces, err := multicastInterfaces()
	if err != nil {
		s.log.Warn("mdns: interfaces", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ifc := range ifaces {
		if s.v4 != nil && ifc.v4 {
			p := ipv4.NewPacketConn(s.v4)
			err := p.SetMulticastInterface(&ifc.Interface)
			if err == nil {
				_ = p.SetMulticastTTL(255)
				_, err = p.WriteTo(buf, nil, groupV4)
			}
			if err != nil {
				s.log.Debug("mdns: announce", "iface", ifc.Name, "family", "IPv4", "err", err)
			}
		}
		if s.v6 != nil && ifc.v6 {
			p := ipv6.NewPacketConn(s.v6)
			err := p.SetMulticastInterface(&ifc.Interface)
			if err == nil {
				_ = p.SetMulticastHopLimit(255)
				_, err = p.WriteTo(buf, nil, groupV6)
			}
			if err != nil {
				s.log.Debug("mdns: announce", "iface", ifc.Name, "family", "IPv6", "err", err)
			}
		}
	}
}

// join makes the sender's sockets members of the mDNS groups on every
// multicast interface that has an address of the family, as interfaces come
// and go. The library's server joins only on the system's default
// multicast interface; Linux delivers a group's datagrams to every socket
// bound to the port once any socket is a member on the interface they
// arrive on (IP_MULTICAST_ALL, on by default), so with these memberships
// the server hears, and answers, queries on every interface.
func (s *sender) join() {
	ifaces, err := multicastInterfaces()
	if err != nil {
		s.log.Debug("mdns: interfaces", "err", err)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now4, now6 := make(map[int]bool), make(map[int]bool)
	for _, ifc := range ifaces {
		if s.v4 != nil && ifc.v4 {
			now4[ifc.Index] = s.joined4[ifc.Index]
			if !s.joined4[ifc.Index] {
				err := ipv4.NewPacketConn(s.v4).JoinGroup(&ifc.Interface, groupV4)
				now4[ifc.Index] = err == nil
				s.log.Debug("mdns: join", "iface", ifc.Name, "family", "IPv4", "err", err)
			}
		}
		if s.v6 != nil && ifc.v6 {
			now6[ifc.Index] = s.joined6[ifc.Index]
			if !s.joined6[ifc.Index] {
				err := ipv6.NewPacketConn(s.v6).JoinGroup(&ifc.Interface, groupV6)
				now6[ifc.Index] = err == nil
				s.log.Debug("mdns: join", "iface", ifc.Name, "family", "IPv6", "err", err)
			}
		}
	}
	// An interface that went away took its membership along; one that comes
	// back is joined again.
	s.joined4, s.joined6 = now4, now6
}

// close closes the sockets; send does nothing afterwards.
func (s *sender) close() {
	s.mu.Lock()
	for _, c := range []*net.PacketConn{&s.v4, &s.v6} {
		if *c != nil {
			(*c).Close()
			*c = nil
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
}
