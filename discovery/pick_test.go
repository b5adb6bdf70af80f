package discovery

import (
	"net"
	"slices"
	"testing"
)

func TestPick(t *testing.T) {
	eth := iface{Interface: net.Interface{Name: "eth0"}, ips: ips("fd00::10", "192.168.1.10")}
	docker := iface{Interface: net.Interface{Name: "docker0"}, ips: ips("172.17.0.1")}
	bare := iface{Interface: net.Interface{Name: "wlan0"}}
	ifaces := []iface{docker, eth, bare}
	for _, tc := range []struct {
		name, known string
		want        []net.IP
		iface       string
		ips         []string
	}{
		{"the advertised address's interface", "", ips("192.168.1.10"), "eth0", []string{"192.168.1.10", "fd00::10"}},
		{"a name resolving to IPv6", "", ips("::1", "fd00::10"), "eth0", []string{"192.168.1.10", "fd00::10"}},
		{"the known interface, whatever is advertised", "eth0", ips("10.9.9.9"), "eth0", []string{"192.168.1.10", "fd00::10"}},
		{"the known interface has no address", "wlan0", ips("192.168.1.10"), "eth0", []string{"192.168.1.10", "fd00::10"}},
		{"the known interface has no address, nor has any the advertised one", "wlan0", nil, "wlan0", []string{"172.17.0.1", "192.168.1.10", "fd00::10"}},
		{"the known interface went away", "eth1", ips("192.168.1.10"), "eth0", []string{"192.168.1.10", "fd00::10"}},
		{"no interface holds the advertised address", "", ips("127.0.0.1"), "", []string{"172.17.0.1", "192.168.1.10", "fd00::10"}},
	} {
		name, got := pick(ifaces, tc.known, tc.want)
		if name != tc.iface || !slices.Equal(ipStrings(got), tc.ips) {
			t.Errorf("%s: pick = %s %v, want %s %v", tc.name, name, got, tc.iface, tc.ips)
		}
	}
}

func TestAddrsAdvertised(t *testing.T) {
	if got := (&Addrs{Advertise: "10.0.0.7"}).advertised(); len(got) != 1 || got[0].String() != "10.0.0.7" {
		t.Errorf("advertised address: %v", got)
	}
	if got := (&Addrs{Advertise: "localhost"}).advertised(); len(got) == 0 || !got[0].IsLoopback() {
		t.Errorf("advertised name localhost: %v", got)
	}
	if got := (&Addrs{Advertise: "no-such-host.invalid"}).advertised(); len(got) != 0 {
		t.Errorf("advertised name that does not resolve: %v", got)
	}
}
