package discovery

import (
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/mdns"
	"github.com/miekg/dns"
)

func ips(s ...string) []net.IP {
	out := make([]net.IP, len(s))
	for i, a := range s {
		out[i] = net.ParseIP(a)
	}
	return out
}

func TestSortIPs(t *testing.T) {
	got := ipStrings(sortIPs(ips("fd00::2", "10.0.0.2", "fd00::1", "10.0.0.1", "10.0.0.2")))
	if want := []string{"10.0.0.1", "10.0.0.2", "fd00::1", "fd00::2"}; !slices.Equal(got, want) {
		t.Fatalf("sortIPs = %v, want %v", got, want)
	}
	a := Announcement{Record: sample(), IPs: ips("10.0.0.1", "fd00::1"), Port: 7400}
	b := a
	b.IPs = ips("fd00::1", "10.0.0.1")
	if !sameAnnouncement(a, b) {
		t.Error("the order of addresses makes a change")
	}
	b.IPs = ips("fd00::1")
	if sameAnnouncement(a, b) {
		t.Error("a lost address makes no change")
	}
}

func TestSettle(t *testing.T) {
	cur := Announcement{Record: sample(), IPs: ips("10.0.0.1"), Port: 7400}
	moved := cur
	moved.IPs = ips("10.0.0.9")
	other := cur
	other.IPs = ips("10.0.0.9", "fd00::9")

	if now, next := settle(cur, true, nil, cur); now || next != nil {
		t.Errorf("no change: %v %v", now, next)
	}
	now, next := settle(cur, true, nil, moved)
	if now || next == nil || !sameAnnouncement(*next, moved) {
		t.Fatalf("a change seen once: %v %v, want to wait with it pending", now, next)
	}
	if now, next := settle(cur, true, next, moved); !now || next != nil {
		t.Errorf("a change seen twice: %v %v, want it announced", now, next)
	}
	if now, n2 := settle(cur, true, next, other); now || n2 == nil || !sameAnnouncement(*n2, other) {
		t.Errorf("a change that changed again: %v %v, want to wait with the newest", now, n2)
	}
	if now, n2 := settle(cur, true, next, cur); now || n2 != nil {
		t.Errorf("a change undone: %v %v, want nothing pending", now, n2)
	}
	if now, n2 := settle(cur, false, nil, cur); now || n2 == nil {
		t.Errorf("server not running: %v %v, want a retry pending", now, n2)
	}
}

func zone(t *testing.T, addrs ...string) *mdns.MDNSService {
	t.Helper()
	z, err := mdns.NewMDNSService("pi3", Service, "local.", "pi3.local.", 7400, ips(addrs...), sample().TXT())
	if err != nil {
		t.Fatal(err)
	}
	return z
}

func types(rrs []dns.RR) string {
	var s []string
	for _, rr := range rrs {
		s = append(s, dns.TypeToString[rr.Header().Rrtype])
	}
	return strings.Join(s, " ")
}

func TestRecordsAndGoodbyes(t *testing.T) {
	old, now := records(zone(t, "10.0.0.1", "fd00::1")), records(zone(t, "10.0.0.9", "fd00::1"))
	if got := types(old); got != "PTR SRV A AAAA TXT" {
		t.Fatalf("records: %s, want PTR SRV A AAAA TXT", got)
	}
	bye := goodbyes(old, now)
	if len(bye) != 1 || bye[0].(*dns.A).A.String() != "10.0.0.1" || bye[0].Header().Ttl != 0 {
		t.Fatalf("goodbyes for a moved IPv4 address: %v", bye)
	}
	if old[2].Header().Ttl == 0 {
		t.Error("goodbyes changed the records it was given")
	}
	if all := goodbyes(old, nil); len(all) != len(old) {
		t.Errorf("goodbyes on close: %v, want all %d records", all, len(old))
	}
	for _, rr := range announcing(now) {
		flush := rr.Header().Class&cacheFlush != 0
		if shared := rr.Header().Rrtype == dns.TypePTR; flush == shared {
			t.Errorf("announced %v: cache-flush %v", rr, flush)
		}
	}
	// What is sent parses back, as a browser reads it.
	buf, err := response(append(announcing(now), bye...)).Pack()
	if err != nil {
		t.Fatal(err)
	}
	var m dns.Msg
	if err := m.Unpack(buf); err != nil || !m.Response || len(m.Answer) != len(now)+1 {
		t.Fatalf("unpacked %v, %v", &m, err)
	}
	if records(nil) != nil {
		t.Error("records of no zone")
	}
}

func TestAnnounceable(t *testing.T) {
	for addr, want := range map[string]bool{
		"10.0.0.1": true, "192.168.1.5": true, "fd00::1": true, "2001:db8::1": true,
		"127.0.0.1": false, "::1": false, "fe80::1": false, "169.254.1.1": false, "224.0.0.251": false, "0.0.0.0": false,
	} {
		if got := announceable(net.ParseIP(addr)); got != want {
			t.Errorf("announceable(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestEntryIPs(t *testing.T) {
	e := &mdns.ServiceEntry{AddrV4: net.ParseIP("10.0.0.1"), AddrV6IPAddr: &net.IPAddr{IP: net.ParseIP("fd00::1")}}
	if got := ipStrings(entryIPs(e)); !slices.Equal(got, []string{"10.0.0.1", "fd00::1"}) {
		t.Errorf("entryIPs = %v", got)
	}
	e = &mdns.ServiceEntry{AddrV6IPAddr: &net.IPAddr{IP: net.ParseIP("fe80::1"), Zone: "eth0"}}
	if got := entryIPs(e); len(got) != 0 {
		t.Errorf("entryIPs of a link-local address = %v, want none", got)
	}
	if got := net.JoinHostPort(net.ParseIP("fd00::1").String(), "7400"); got != "[fd00::1]:7400" {
		t.Errorf("an IPv6 node's address is %s", got)
	}
}
