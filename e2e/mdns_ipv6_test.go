package e2e

import (
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/internal/mdnslab"
)

// TestMDNSIPv6 runs a node on a LAN with IPv6 only: avahi-browse resolves
// its announcement to its IPv6 address (an AAAA record), the parley CLI
// with no address finds it over IPv6 multicast and dials it at
// [address]:port, and the node's DNS service answers AAAA for its name.
func TestMDNSIPv6(t *testing.T) {
	if _, err := exec.LookPath("dig"); err != nil {
		t.Fatalf("dig is missing (Debian package dnsutils): %v", err)
	}
	dir := t.TempDir()
	lab, err := mdnslab.StartIPv6(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	data := filepath.Join(dir, "n1")
	// Raft takes no IPv6 literal: the node advertises its host name, which
	// the lab's /etc/hosts resolves to mdnslab.IP6. Its client port is not
	// the CLI's default, so the CLI reaches it only by what it discovers.
	n := startLabNodeAt(t, lab, dir, mdnslab.Host, "lab6", "7440", "7441", "7480", "--data", data, "--dns", "127.0.0.1:7453")
	svc := waitLabService(t, lab, n, "lab6")
	if svc.Protocol != "IPv6" || svc.Address != mdnslab.IP6 || svc.Port != "7440" {
		t.Fatalf("lab6 announces %+v, want IPv6 %s port 7440", svc, mdnslab.IP6)
	}
	if _, err := discovery.ParseTXT(svc.TXT); err != nil {
		t.Errorf("lab6: %v", err)
	}

	// The CLI, with no address anywhere, finds the node over IPv6.
	known := sendByDiscovery(t, lab.CommandContext, "found you over IPv6")
	// It remembers the node at the address the cluster gives for it.
	want := net.JoinHostPort(mdnslab.Host, "7440")
	if got := known[caFingerprint(t, data)]; !slices.Contains(got, want) {
		t.Errorf("known_nodes remembers %v, want %s for the cluster", known, want)
	}

	// The DNS service answers AAAA for the node's name.
	out, err := lab.Command("dig", "@127.0.0.1", "-p", "7453", "+short", "+tries=3", "AAAA", "lab6.parley.lan").CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != mdnslab.IP6 {
		t.Errorf("dig AAAA lab6.parley.lan: %v: %q, want %s", err, out, mdnslab.IP6)
	}
}
