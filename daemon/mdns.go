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
// port at its advertised address, with its cluster, CA fingerprint, node
// id and name, HTTP port and version in TXT records.
func (s *Server) announce() (*discovery.Announcer, error) {
	a, err := s.announcement()
	if err != nil {
		return nil, err
	}
	return discovery.Announce(a, s.log)
}

// announcement is what this node announces now.
func (s *Server) announcement() (discovery.Announcement, error) {
	ca, err := pki.ParseCertPEM(s.nodeTLS.ca)
	if err != nil {
		return discovery.Announcement{}, fmt.Errorf("mdns: cluster ca: %w", err)
	}
	ip := net.ParseIP(s.cfg.Advertise)
	if ip == nil {
		ips, err := net.LookupIP(s.cfg.Advertise)
		if err != nil || len(ips) == 0 {
			return discovery.Announcement{}, fmt.Errorf("mdns: advertised host %q has no address: %v", s.cfg.Advertise, err)
		}
		ip = ips[0]
	}
	_, port, _ := net.SplitHostPort(s.clientAddr)
	p, err := strconv.Atoi(port)
	if err != nil {
		return discovery.Announcement{}, fmt.Errorf("mdns: client address %q: %w", s.clientAddr, err)
	}
	var httpPort int
	if s.httpAddr != "" {
		_, hp, _ := net.SplitHostPort(s.httpAddr)
		httpPort, _ = strconv.Atoi(hp)
	}
	return discovery.Announcement{
		Record: discovery.Record{
			ClusterID: s.node.ClusterID(), CA: pki.Fingerprint(ca.Raw), NodeID: s.node.ID(),
			Name: s.cfg.Name, HTTPPort: httpPort, Version: buildinfo.Get().Version,
		},
		IP: ip, Port: p,
	}, nil
}
