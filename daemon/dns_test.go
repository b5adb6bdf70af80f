package daemon

import (
	"context"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var testNodes = []dnsNode{
	{name: "pi-1", ips: []net.IP{net.ParseIP("192.168.1.10")}, port: 7400},
	{name: "pi-2", ips: []net.IP{net.ParseIP("fd00::2")}, port: 7410},
	{name: "laptop", port: 7420}, // advertises a host name
}

func query(name string, t uint16) *dns.Msg {
	m := new(dns.Msg)
	m.SetQuestion(name, t)
	return m
}

func TestDNSAnswer(t *testing.T) {
	const zone = "parley.lan."
	for _, tc := range []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		extra   int
	}{
		{"_parley._udp.parley.lan.", dns.TypeSRV, dns.RcodeSuccess, 3, 2},
		{"_PARLEY._udp.Parley.LAN.", dns.TypeSRV, dns.RcodeSuccess, 3, 2},
		{"pi-1.parley.lan.", dns.TypeA, dns.RcodeSuccess, 1, 0},
		{"pi-1.parley.lan.", dns.TypeAAAA, dns.RcodeSuccess, 0, 0},
		{"pi-2.parley.lan.", dns.TypeAAAA, dns.RcodeSuccess, 1, 0},
		{"laptop.parley.lan.", dns.TypeA, dns.RcodeSuccess, 0, 0},
		{"pi-9.parley.lan.", dns.TypeA, dns.RcodeNameError, 0, 0},
		{"parley.lan.", dns.TypeSOA, dns.RcodeSuccess, 1, 0},
		{"parley.lan.", dns.TypeNS, dns.RcodeSuccess, 1, 0},
		{"example.com.", dns.TypeA, dns.RcodeRefused, 0, 0},
		{"lan.", dns.TypeA, dns.RcodeRefused, 0, 0},
	} {
		resp := dnsAnswer(query(tc.name, tc.qtype), zone, "pi-1", testNodes)
		if resp.Rcode != tc.rcode || len(resp.Answer) != tc.answers || len(resp.Extra) != tc.extra {
			t.Errorf("%s %s: rcode %s, %d answers, %d extra; want %s, %d, %d", tc.name, dns.TypeToString[tc.qtype],
				dns.RcodeToString[resp.Rcode], len(resp.Answer), len(resp.Extra), dns.RcodeToString[tc.rcode], tc.answers, tc.extra)
		}
		if _, err := resp.Pack(); err != nil {
			t.Errorf("%s: reply does not pack: %v", tc.name, err)
		}
	}
	srv := dnsAnswer(query("_parley._udp.parley.lan.", dns.TypeSRV), zone, "pi-1", testNodes).Answer[1].(*dns.SRV)
	if srv.Port != 7410 || srv.Target != "pi-2.parley.lan." {
		t.Errorf("SRV %v", srv)
	}
	multi := query("a.parley.lan.", dns.TypeA)
	multi.Question = append(multi.Question, multi.Question[0])
	if r := dnsAnswer(multi, zone, "pi-1", testNodes); r.Rcode != dns.RcodeNotImplemented {
		t.Errorf("two questions: %s", dns.RcodeToString[r.Rcode])
	}
}

// FuzzDNSQuery: any datagram that decodes as a DNS message gets a reply
// that encodes; none panics.
func FuzzDNSQuery(f *testing.F) {
	for _, q := range []*dns.Msg{query("_parley._udp.parley.lan.", dns.TypeSRV), query("pi-1.parley.lan.", dns.TypeA), query("x.", dns.TypeANY)} {
		b, _ := q.Pack()
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req := new(dns.Msg)
		if err := req.Unpack(data); err != nil {
			return
		}
		resp := dnsAnswer(req, "parley.lan.", "pi-1", testNodes)
		if _, err := resp.Pack(); err != nil {
			t.Fatalf("reply to %v does not pack: %v", req, err)
		}
	})
}

func TestHostIPs(t *testing.T) {
	ctx := context.Background()
	if got := hostIPs(ctx, "fd00::7"); len(got) != 1 || !got[0].Equal(net.ParseIP("fd00::7")) {
		t.Errorf("hostIPs(fd00::7) = %v", got)
	}
	if got := hostIPs(ctx, "localhost"); len(got) == 0 || !got[0].IsLoopback() {
		t.Errorf("hostIPs(localhost) = %v, want its loopback addresses", got)
	}
	if got := hostIPs(ctx, "no-such-host.invalid"); len(got) != 0 {
		t.Errorf("hostIPs(no-such-host.invalid) = %v, want none", got)
	}
}

// A DNS service closed right after it started stops serving, so that a
// node whose start fails after the DNS service came up (say, mDNS could
// not bind) closes instead of waiting for it forever.
func TestDNSCloseRightAfterStart(t *testing.T) {
	for range 20 {
		s := &Server{log: slog.New(slog.DiscardHandler)}
		d, err := s.startDNS("127.0.0.1:0", DefaultDNSDomain)
		if err != nil {
			t.Fatal(err)
		}
		d.close()
		stopped := make(chan struct{})
		go func() {
			s.wg.Wait()
			close(stopped)
		}()
		select {
		case <-stopped:
		case <-time.After(10 * time.Second):
			t.Fatal("the DNS service still serves 10 s after it was closed")
		}
	}
}
