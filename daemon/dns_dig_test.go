package daemon_test

import (
	"fmt"
	"net"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
)

// dig asks the DNS service at addr with the real dig (Debian dnsutils).
func dig(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	bin, err := exec.LookPath("dig")
	if err != nil {
		t.Fatal("dig not found: install Debian's dnsutils package (see .ci/run)")
	}
	host, port, _ := net.SplitHostPort(addr)
	out, err := exec.Command(bin, append([]string{"@" + host, "-p", port, "+time=5", "+tries=1"}, args...)...).CombinedOutput()
	return string(out), err
}

// The DNS service answers dig from the registry: SRV lists every live
// node's client port, A gives a node's address, a stopped node drops out,
// an unknown name is NXDOMAIN and a name outside the zone is refused.
func TestDNSServiceAnswersDig(t *testing.T) {
	c := daemontest.StartCluster(t, 2, daemontest.Options{Shards: 2, Configure: func(i int, cfg *daemon.Config) {
		if i == 0 {
			cfg.DNS = "127.0.0.1:0"
		}
	}})
	addr := c.Server(0).DNSAddr()
	srvs := func() ([]string, error) {
		out, err := dig(t, addr, "+short", "SRV", "_parley._udp.parley.lan")
		if err != nil {
			return nil, fmt.Errorf("dig: %v\n%s", err, out)
		}
		var got []string
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			if f := strings.Fields(l); len(f) == 4 {
				got = append(got, f[2]+" "+f[3])
			}
		}
		slices.Sort(got)
		return got, nil
	}
	want := func(idx ...int) []string {
		var w []string
		for _, i := range idx {
			_, port, _ := net.SplitHostPort(c.Addr(i))
			w = append(w, fmt.Sprintf("%s n%d.parley.lan.", port, i+1))
		}
		slices.Sort(w)
		return w
	}
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		got, err := srvs()
		if err != nil || !slices.Equal(got, want(0, 1)) {
			return fmt.Errorf("SRV: %q %v, want %q", got, err, want(0, 1))
		}
		return nil
	})
	if out, err := dig(t, addr, "+short", "A", "n2.parley.lan"); err != nil || strings.TrimSpace(out) != "127.0.0.1" {
		t.Errorf("A n2: %q %v", out, err)
	}
	for _, tc := range []struct{ args, status string }{
		{"A nosuchnode.parley.lan", "NXDOMAIN"},
		{"A example.com", "REFUSED"},
		{"SOA parley.lan", "NOERROR"},
	} {
		out, err := dig(t, addr, strings.Fields(tc.args)...)
		if err != nil || !strings.Contains(out, "status: "+tc.status) {
			t.Errorf("dig %s: want %s, got %v\n%s", tc.args, tc.status, err, out)
		}
	}
	if out, err := dig(t, addr, "+tcp", "+short", "SRV", "_parley._udp.parley.lan"); err != nil || strings.Count(out, "parley.lan.") != 2 {
		t.Errorf("SRV over TCP: %q %v", out, err)
	}
	// The SDK finds the cluster from the zone alone.
	resolved, err := client.ResolveServers(opCtx(t), []string{"dns:parley.lan@" + addr})
	slices.Sort(resolved)
	nodes := c.Addrs()
	slices.Sort(nodes)
	if err != nil || !slices.Equal(resolved, nodes) {
		t.Fatalf("dns:parley.lan resolved to %q (%v), want %q", resolved, err, nodes)
	}
	if _, err := dialAs(t, "dora", resolved...).Status(opCtx(t)); err != nil {
		t.Fatal(err)
	}
	if _, err := client.ResolveServers(opCtx(t), []string{"dns:other.lan@" + addr}); err == nil {
		t.Fatal("a zone the service does not serve resolved")
	}

	c.Stop(1)
	chatcoretest.WaitFor(t, 60*time.Second, func() error {
		got, err := srvs()
		if err != nil || !slices.Equal(got, want(0)) {
			return fmt.Errorf("SRV with n2 stopped: %q %v, want %q", got, err, want(0))
		}
		return nil
	})
}
