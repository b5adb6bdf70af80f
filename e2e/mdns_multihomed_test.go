package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/internal/mdnslab"
)

// TestMDNSSecondInterface runs a node on a host whose default multicast
// interface is not the LAN (a second interface, as a container bridge or
// a second network): the node announces its LAN interface's address and
// not the other's, and it answers queries that come from the LAN, so the
// parley CLI on another machine of the LAN finds it with no address.
func TestMDNSSecondInterface(t *testing.T) {
	dir := t.TempDir()
	lab, err := mdnslab.StartWith(dir, mdnslab.Options{Decoy: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	data := filepath.Join(dir, "n1")
	n := startLabNode(t, lab, dir, "lab1", "7440", "7441", "7480", "--data", data)
	if svc := waitLabService(t, lab, n, "lab1"); svc.Address != mdnslab.IP || svc.Port != "7440" {
		t.Fatalf("lab1 announces %+v, want %s:7440 (not the second interface's %s)", svc, mdnslab.IP, mdnslab.DecoyIP)
	}

	// The node is a member of the mDNS group on the LAN interface too, not
	// only on the default multicast one, so that it hears queries there.
	waitFor(t, settleTimeout, "mDNS group joined on pa0", func() error {
		out, err := lab.Command("cat", "/proc/net/igmp").Output()
		if err != nil {
			return err
		}
		if groups := igmpGroups(string(out)); !slices.Contains(groups["pa0"], "FB0000E0") {
			return fmt.Errorf("groups by interface: %v", groups)
		}
		return nil
	})

	// The CLI asks from the other machine: no cache there, so only the
	// node's answer to its query tells it where the node is.
	known := sendByDiscovery(t, lab.AvahiHostCommand, "found you from the LAN")
	if want := net.JoinHostPort(mdnslab.IP, "7440"); !slices.Contains(known[caFingerprint(t, data)], want) {
		t.Errorf("known_nodes remembers %v, want %s for the cluster", known, want)
	}
}

// igmpGroups parses /proc/net/igmp: the groups (hex, as the kernel writes
// them) each interface is a member of.
func igmpGroups(s string) map[string][]string {
	groups := make(map[string][]string)
	var dev string
	for _, line := range strings.Split(s, "\n")[1:] {
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
		case !strings.HasPrefix(line, "\t") && len(f) >= 2:
			dev = f[1]
		case dev != "":
			groups[dev] = append(groups[dev], f[0])
		}
	}
	return groups
}
