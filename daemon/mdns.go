package daemon

import (
	"fmt"
	"net"
	"strconv"

	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/internal/buildinfo"
	"github.com/parleychat/parley/pki"
)

// announce starts announcing this node by mDNS (Config.MDNS): its client
// port at the addresses it is reached at, with its cluster, CA
// fingerprint, node id and name, HTTP port and version in TXT records. The
// announcer follows the node's addresses while it runs.
// A node whose client listener is bound to a loopback address announces
// nothing (nil): no one else on the LAN could reach it.
func (s *Server) announce() (*discovery.Announcer, error) {
	if ip := s.boundIP(); ip != nil && ip.IsLoopback() {
		s.log.Info("mdns: not announcing: clients listen on loopback only", "listen", s.cfg.Listen)
		return nil, nil
	}
	src, err := s.announcement()
	if err != nil {
		return nil, err
	}
	return discovery.Announce(src, s.log)
}

// boundIP is the address the client listener is bound to, nil if it
// listens on every address.
func (s *Server) boundIP() net.IP {
	if host, _, err := net.SplitHostPort(s.cfg.Listen); err == nil && host != "" {
		if ip := net.ParseIP(host); ip != nil && !ip.IsUnspecified() {
			return ip
		}
	}
	return nil
}

// announcement returns what this node announces at any time. All but the
// addresses are fixed while the node runs: its name, ports, version, node
// and cluster ids and CA are settled before it serves. The addresses are
// those of the client listener if it is bound to one; if it listens on
// every address (the default), those of the node's interface (see
// discovery.Addrs), read again each time, so that a new DHCP lease or an
// IPv6 address that comes later are announced.
func (s *Server) announcement() (discovery.Source, error) {
	ca, err := pki.ParseCertPEM(s.nodeTLS.ca)
	if err != nil {
		return nil, fmt.Errorf("mdns: cluster ca: %w", err)
	}
	_, port, _ := net.SplitHostPort(s.clientAddr)
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("mdns: client address %q: %w", s.clientAddr, err)
	}
	var httpPort int
	if s.httpAddr != "" {
		_, hp, _ := net.SplitHostPort(s.httpAddr)
		httpPort, _ = strconv.Atoi(hp)
	}
	rec := discovery.Record{
		ClusterID: s.node.ClusterID(), CA: pki.Fingerprint(ca.Raw), NodeID: s.node.ID(),
		Name: s.cfg.Name, HTTPPort: httpPort, Version: buildinfo.Get().Version,
	}
	bound := s.boundIP()
	addrs := &discovery.Addrs{Advertise: s.cfg.Advertise}
	return func() (discovery.Announcement, error) {
		a := discovery.Announcement{Record: rec, Port: p}
		if bound != nil {
			a.IPs = []net.IP{bound}
			return a, nil
		}
		ips, err := addrs.IPs()
		if err != nil {
			return a, fmt.Errorf("mdns: %w", err)
		}
		a.IPs = ips
		return a, nil
	}, nil
}
