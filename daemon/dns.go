package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"

	"github.com/parleychat/parley"
)

// The DNS service (--dns ADDR) answers standard DNS queries for its zone
// (--dns-domain, default parley.lan) from the registry, so that dig, the
// client's "dns:" servers and a LAN's own DNS server (by delegating the
// zone) find the cluster:
//
//	SRV  _parley._udp.<zone>   every live node's client (QUIC) port
//	A    <node-name>.<zone>    a node's advertised IPv4 address, or the
//	                           IPv4 addresses its advertised host name
//	                           resolves to on the serving node
//	AAAA <node-name>.<zone>    the IPv6 addresses its advertised host name
//	                           resolves to (a node advertises no IPv6
//	                           literal: Raft takes none)
//	SOA, NS at <zone>          this node, as the zone's server
//
// A name in the zone that is not there gets NXDOMAIN; a name outside the
// zone is REFUSED: the service is authoritative for its zone only and
// resolves nothing else.
const (
	// DefaultDNSDomain is the zone of the DNS service.
	DefaultDNSDomain = "parley.lan"
	// dnsTTL is the TTL of every answer: short, as nodes come and go.
	dnsTTL = 5
	// dnsLiveTTL is how long a probe of the nodes' liveness is reused.
	dnsLiveTTL = 3 * time.Second
	// ServiceLabel is the DNS-SD service of a Parley node's client port.
	ServiceLabel = "_parley._udp"
)

// dnsNode is what the DNS service knows of one node.
type dnsNode struct {
	name string
	ips  []net.IP // its advertised address, or what its advertised host name resolves to
	port uint16
}

// dnsAnswer builds the reply to req for zone (a lower-case FQDN such as
// "parley.lan.") from the live nodes; self names the serving node.
func dnsAnswer(req *dns.Msg, zone, self string, nodes []dnsNode) *dns.Msg {
	resp := new(dns.Msg)
	resp.SetReply(req)
	resp.Authoritative = true
	if req.Opcode != dns.OpcodeQuery || len(req.Question) != 1 {
		resp.SetRcode(req, dns.RcodeNotImplemented)
		return resp
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	if !dns.IsSubDomain(zone, name) {
		resp.Authoritative = false
		resp.SetRcode(req, dns.RcodeRefused)
		return resp
	}
	hdr := func(n string, t uint16) dns.RR_Header {
		return dns.RR_Header{Name: n, Rrtype: t, Class: dns.ClassINET, Ttl: dnsTTL}
	}
	soa := &dns.SOA{Hdr: hdr(zone, dns.TypeSOA), Ns: self + "." + zone, Mbox: "hostmaster." + zone,
		Serial: 1, Refresh: 60, Retry: 30, Expire: 600, Minttl: dnsTTL}
	addrs := func(n dnsNode, t uint16) []dns.RR {
		target := n.name + "." + zone
		var rrs []dns.RR
		for _, ip := range n.ips {
			switch {
			case ip.To4() != nil && (t == dns.TypeA || t == dns.TypeANY):
				rrs = append(rrs, &dns.A{Hdr: hdr(target, dns.TypeA), A: ip.To4()})
			case ip.To4() == nil && (t == dns.TypeAAAA || t == dns.TypeANY):
				rrs = append(rrs, &dns.AAAA{Hdr: hdr(target, dns.TypeAAAA), AAAA: ip})
			}
		}
		return rrs
	}
	found := false
	switch name {
	case zone:
		found = true
		if q.Qtype == dns.TypeSOA || q.Qtype == dns.TypeANY {
			resp.Answer = append(resp.Answer, soa)
		}
		if q.Qtype == dns.TypeNS || q.Qtype == dns.TypeANY {
			resp.Answer = append(resp.Answer, &dns.NS{Hdr: hdr(zone, dns.TypeNS), Ns: self + "." + zone})
		}
	case ServiceLabel + "." + zone:
		found = true
		if q.Qtype == dns.TypeSRV || q.Qtype == dns.TypeANY {
			for _, n := range nodes {
				resp.Answer = append(resp.Answer, &dns.SRV{Hdr: hdr(name, dns.TypeSRV), Priority: 0, Weight: 10,
					Port: n.port, Target: n.name + "." + zone})
				resp.Extra = append(resp.Extra, addrs(n, dns.TypeANY)...)
			}
		}
	default:
		for _, n := range nodes {
			if name == n.name+"."+zone {
				found = true
				resp.Answer = append(resp.Answer, addrs(n, q.Qtype)...)
			}
		}
	}
	if !found {
		resp.Rcode = dns.RcodeNameError
	}
	if len(resp.Answer) == 0 {
		resp.Ns = append(resp.Ns, soa)
	}
	return resp
}

// dnsService is a running DNS service.
type dnsService struct {
	srv  *Server
	zone string
	udp  *dns.Server
	tcp  *dns.Server

	mu      sync.Mutex
	live    []dnsNode
	checked time.Time
}

// startDNS serves DNS on addr (UDP and TCP) for domain.
func (s *Server) startDNS(addr, domain string) (*dnsService, error) {
	zone := dns.Fqdn(strings.ToLower(domain))
	if _, ok := dns.IsDomainName(zone); !ok || zone == "." {
		return nil, fmt.Errorf("dns: bad domain %q: %w", domain, parley.ErrInvalid)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("dns: %w", err)
	}
	// TCP on the same port as UDP, for answers too big for a datagram.
	l, err := net.Listen("tcp", pc.LocalAddr().String())
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dns: %w", err)
	}
	d := &dnsService{srv: s, zone: zone}
	h := dns.HandlerFunc(d.serveDNS)
	d.udp = &dns.Server{PacketConn: pc, Handler: h}
	d.tcp = &dns.Server{Listener: l, Handler: h, ReadTimeout: 5 * time.Second}
	// Each server is running before startDNS returns: a dns.Server's
	// Shutdown does nothing to a server not yet started, so a close right
	// after the start (a start that fails later on) would leave it serving
	// and Server.Close waiting for it forever.
	for _, ds := range []*dns.Server{d.udp, d.tcp} {
		started := make(chan struct{})
		ds.NotifyStartedFunc = func() { close(started) }
		ended := make(chan error, 1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			err := ds.ActivateAndServe()
			if err != nil && !errors.Is(err, net.ErrClosed) {
				s.log.Error("dns", "err", err)
			}
			ended <- err
		}()
		select {
		case <-started:
		case err := <-ended:
			d.close()
			pc.Close()
			l.Close()
			return nil, fmt.Errorf("dns: %w", err)
		}
	}
	return d, nil
}

// addr is the bound UDP (and TCP) address.
func (d *dnsService) addr() string { return d.udp.PacketConn.LocalAddr().String() }

func (d *dnsService) close() {
	d.udp.Shutdown()
	d.tcp.Shutdown()
}

func (d *dnsService) serveDNS(w dns.ResponseWriter, req *dns.Msg) {
	resp := dnsAnswer(req, d.zone, d.selfName(), d.liveNodes())
	if _, udp := w.RemoteAddr().(*net.UDPAddr); udp {
		size := uint16(dns.MinMsgSize)
		if opt := req.IsEdns0(); opt != nil {
			size = max(size, opt.UDPSize())
		}
		resp.Truncate(int(size))
	}
	w.WriteMsg(resp)
}

func (d *dnsService) selfName() string {
	recs, _ := d.srv.node.Nodes()
	for _, r := range recs {
		if r.ID == d.srv.node.ID() {
			return strings.ToLower(r.Name)
		}
	}
	return "ns"
}

// liveNodes returns the nodes that answered a probe in the last few
// seconds, probing again when that is older.
func (d *dnsService) liveNodes() []dnsNode {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.checked) < dnsLiveTTL {
		return d.live
	}
	recs, err := d.srv.node.Nodes()
	if err != nil {
		return d.live
	}
	ctx, cancel := context.WithTimeout(d.srv.ctx, 2*time.Second)
	defer cancel()
	up := d.srv.probeNodes(ctx, recs)
	d.live = d.live[:0:0]
	for _, r := range recs {
		if !up[r.ID] {
			continue
		}
		host, port, err := net.SplitHostPort(r.ClientAddr)
		p, perr := strconv.ParseUint(port, 10, 16)
		if err != nil || perr != nil {
			continue
		}
		d.live = append(d.live, dnsNode{name: strings.ToLower(r.Name), ips: hostIPs(ctx, host), port: uint16(p)})
	}
	d.checked = time.Now()
	return d.live
}

// hostIPs returns host's address if it is one, else what the host name
// resolves to here (a node reached over IPv6 advertises a name, since Raft
// takes no IPv6 literal); none if it does not resolve within ctx.
func hostIPs(ctx context.Context, host string) []net.IP {
	if ip := net.ParseIP(host); ip != nil {
		return []net.IP{ip}
	}
	addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil
	}
	ips := make([]net.IP, 0, len(addrs))
	for _, a := range addrs {
		if a.Zone == "" {
			ips = append(ips, a.IP)
		}
	}
	return ips
}
