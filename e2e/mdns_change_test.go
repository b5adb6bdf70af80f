package e2e

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/internal/mdnslab"
)

// newLabIP is the address the node host gets while parleyd runs. Its
// prefix (/25) differs from the lab's /24, so it is a primary address of
// its own and survives the removal of mdnslab.IP.
const newLabIP = "10.78.0.9"

// reannounceWait bounds how long avahi may take to resolve the node's new
// address. It is well under the records' TTL (120 s): avahi's cache keeps
// the old address that long unless the node withdraws it, so the test
// fails if parleyd only answers queries with its new address.
const reannounceWait = 60 * time.Second

// TestMDNSReannounce changes the node host's address while parleyd runs:
// avahi-browse, which resolved the old address, resolves the new one and
// only it, without parleyd being restarted; once parleyd stops, avahi
// forgets the service.
func TestMDNSReannounce(t *testing.T) {
	dir := t.TempDir()
	lab, err := mdnslab.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)
	n := startLabNode(t, lab, dir, "lab1", "7400", "7401", "7480", "--data", filepath.Join(dir, "n1"))
	if svc := waitLabService(t, lab, n, "lab1"); svc.Address != mdnslab.IP || svc.Port != "7400" {
		t.Fatalf("lab1 announces %+v, want %s:7400", svc, mdnslab.IP)
	}

	for _, args := range [][]string{
		{"ip", "addr", "add", newLabIP + "/25", "dev", "pa0"},
		{"ip", "addr", "del", mdnslab.IP + "/24", "dev", "pa0"},
	} {
		if out, err := lab.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", args, err, out)
		}
	}
	start := time.Now()
	svc := waitLabServiceAt(t, lab, n, "lab1", newLabIP, reannounceWait)
	if svc.Port != "7400" {
		t.Errorf("after the change lab1 announces %+v, want port 7400", svc)
	}
	t.Logf("avahi resolved the new address %v after the change", time.Since(start).Round(time.Millisecond))

	// A node that stops says goodbye: avahi forgets its service well before
	// the records' TTL would make it.
	if err := n.Stop(10 * time.Second); err != nil {
		t.Fatalf("stop lab1: %v", err)
	}
	start = time.Now()
	var last []mdnslab.Service
	for {
		var err error
		if last, err = lab.Browse(discovery.Service); err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(last, func(s mdnslab.Service) bool { return s.Name == "lab1" }) {
			break
		}
		if time.Since(start) > reannounceWait {
			t.Fatalf("avahi-browse still sees lab1 %v after it stopped: %+v", reannounceWait, last)
		}
	}
	t.Logf("avahi forgot the stopped node after %v", time.Since(start).Round(time.Millisecond))
}
