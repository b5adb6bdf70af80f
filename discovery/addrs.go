package discovery

import (
	"fmt"
	"net"
)

// iface is a multicast interface and the families it has addresses of.
type iface struct {
	net.Interface
	v4, v6 bool
	ips    []net.IP // its addresses worth announcing
}

// multicastInterfaces returns the interfaces that are up, multicast and not
// loopback: those an mDNS announcement goes out on.
func multicastInterfaces() ([]iface, error) {
	all, err := net.Interfaces()
	if err != nil {
		return nil, fmt.Errorf("interfaces: %w", err)
	}
	var out []iface
	for _, ifc := range all {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagMulticast == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		i := iface{Interface: ifc}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			if ipn.IP.To4() != nil {
				i.v4 = true
			} else {
				i.v6 = true
			}
			if announceable(ipn.IP) {
				i.ips = append(i.ips, ipn.IP)
			}
		}
		out = append(out, i)
	}
	return out, nil
}

// announceable reports whether a client elsewhere on the LAN can dial ip
// as it is: a unicast address that is neither loopback nor link-local (a
// link-local IPv6 address needs the dialer's own interface name).
func announceable(ip net.IP) bool {
	return ip.IsGlobalUnicast() && !ip.IsLinkLocalUnicast()
}
