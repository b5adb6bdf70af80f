package discovery

import (
	"context"
	"net"
	"sync"
	"time"
)

// Addrs picks the addresses a node that listens on every address
// announces: those of its own interface, the one that holds the address it
// advertises to the cluster. A machine with several interfaces (a Pi on
// Ethernet and Wi-Fi, a host with container bridges) so announces the
// addresses its cluster uses, not a bridge's a client cannot reach. The
// interface, once found, is remembered, so that when its addresses change
// (a new DHCP lease) the new ones are announced. While it is not known or
// has no address (the advertised host does not resolve to a local address,
// the interface went away or lost its lease), the interface holding the
// advertised address is looked for again, and meanwhile every interface's
// addresses are announced.
type Addrs struct {
	// Advertise is the advertised host: an address or a name.
	Advertise string

	mu    sync.Mutex
	iface string // the node's interface, "" until found
}

// resolveWait bounds the lookup of an advertised host name.
const resolveWait = time.Second

// IPs returns the addresses to announce now.
func (p *Addrs) IPs() ([]net.IP, error) {
	ifaces, err := multicastInterfaces()
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var want []net.IP
	if !hasAddress(ifaces, p.iface) {
		want = p.advertised()
	}
	var ips []net.IP
	p.iface, ips = pick(ifaces, p.iface, want)
	return ips, nil
}

// advertised returns the advertised host's addresses.
func (p *Addrs) advertised() []net.IP {
	if ip := net.ParseIP(p.Advertise); ip != nil {
		return []net.IP{ip}
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveWait)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, p.Advertise)
	if err != nil {
		return nil
	}
	ips := make([]net.IP, len(addrs))
	for i, a := range addrs {
		ips[i] = a.IP
	}
	return ips
}

// hasAddress reports whether the interface called name is there with an
// address to announce.
func hasAddress(ifaces []iface, name string) bool {
	for _, ifc := range ifaces {
		if name != "" && ifc.Name == name && len(ifc.ips) > 0 {
			return true
		}
	}
	return false
}

// hasIface reports whether the interface called name is there.
func hasIface(ifaces []iface, name string) bool {
	for _, ifc := range ifaces {
		if name != "" && ifc.Name == name {
			return true
		}
	}
	return false
}

// pick returns the node's interface and the addresses to announce: those
// of the interface named known if it is there with an address, else of the
// first one that holds an address in want, else of every interface (known
// staying the node's interface, preferred again once it has an address).
func pick(ifaces []iface, known string, want []net.IP) (string, []net.IP) {
	for _, ifc := range ifaces {
		if known != "" && ifc.Name == known && len(ifc.ips) > 0 {
			return ifc.Name, sortIPs(ifc.ips)
		}
	}
	for _, ifc := range ifaces {
		for _, ip := range ifc.ips {
			for _, w := range want {
				if ip.Equal(w) {
					return ifc.Name, sortIPs(ifc.ips)
				}
			}
		}
	}
	var all []net.IP
	for _, ifc := range ifaces {
		all = append(all, ifc.ips...)
	}
	if !hasIface(ifaces, known) {
		known = ""
	}
	return known, sortIPs(all)
}
