package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/discovery"
	"github.com/parleychat/parley/internal/mdnslab"
	"github.com/parleychat/parley/internal/proc"
	"github.com/parleychat/parley/pki"
)

// TestMDNS runs two nodes in a namespace of their own with avahi-daemon:
// avahi-browse sees each node's announcement with the right TXT records,
// the second node finds the first with --join auto, and the parley CLI with
// no address finds the cluster and remembers its nodes.
func TestMDNS(t *testing.T) {
	dir := t.TempDir()
	lab, err := mdnslab.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(lab.Close)

	data1, data2 := filepath.Join(dir, "n1"), filepath.Join(dir, "n2")
	n1 := startLabNode(t, lab, dir, "lab1", "7400", "7401", "7480", "--data", data1)
	waitLabService(t, lab, n1, "lab1")
	n2 := startLabNode(t, lab, dir, "lab2", "7410", "7411", "7490", "--data", data2,
		"--join", "auto", "--token-file", chatcore.DataLayout(data1).JoinToken())

	id := readIdentity(t, data1)
	ca := caFingerprint(t, data1)
	out, err := exec.Command(parleydBin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		p                      *proc.Proc
		name, node, port, http string
	}{
		{n1, "lab1", "1", "7400", "7480"}, {n2, "lab2", "", "7410", "7490"},
	} {
		svc := waitLabService(t, lab, n.p, n.name)
		txt := map[string]string{}
		for _, kv := range svc.TXT {
			k, v, _ := strings.Cut(kv, "=")
			txt[k] = v
		}
		if svc.Address != mdnslab.IP || svc.Port != n.port || txt["cluster"] != id || txt["ca"] != ca ||
			txt["name"] != n.name || txt["http"] != n.http || txt["version"] == "" ||
			!strings.Contains(string(out), txt["version"]) || (n.node != "" && txt["node"] != n.node) {
			t.Errorf("%s announces %+v, want %s:%s cluster %s ca %s http %s and the version of %q",
				n.name, svc, mdnslab.IP, n.port, id, ca, n.http, out)
		}
		if _, err := discovery.ParseTXT(svc.TXT); err != nil {
			t.Errorf("%s: %v", n.name, err)
		}
	}
	if readIdentity(t, data2) != id {
		t.Fatalf("lab2 joined cluster %s, want %s", readIdentity(t, data2), id)
	}

	// The CLI, with no address anywhere, finds the cluster.
	known := sendByDiscovery(t, lab.CommandContext, "found you")
	if got := known[ca]; !slices.Contains(got, mdnslab.IP+":7400") || !slices.Contains(got, mdnslab.IP+":7410") {
		t.Errorf("known_nodes remembers %v for the cluster, want both nodes", known)
	}
}

// startLabNode runs parleyd in an IPv4 lab with mDNS on, stopped at cleanup.
func startLabNode(t *testing.T, lab *mdnslab.Lab, dir, name, client, raft, http string, args ...string) *proc.Proc {
	t.Helper()
	return startLabNodeAt(t, lab, dir, mdnslab.IP, name, client, raft, http, args...)
}

// startLabNodeAt runs parleyd in the lab with mDNS on, advertising host.
func startLabNodeAt(t *testing.T, lab *mdnslab.Lab, dir, host, name, client, raft, http string, args ...string) *proc.Proc {
	t.Helper()
	args = append([]string{"--listen", ":" + client, "--raft", net.JoinHostPort(host, raft), "--http", "127.0.0.1:" + http,
		"--advertise", host, "--name", name, "--profile", "small", "--shards", "2", "--mdns"}, args...)
	cmd := lab.Command(parleydBin, args...)
	log, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	p, err := proc.Run(name, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop(10 * time.Second)
		if t.Failed() {
			t.Logf("%s log:\n%s", name, proc.Tail(log.Name(), 30))
		}
	})
	return p
}

// waitLabService polls avahi-browse until it resolves the node's service.
func waitLabService(t *testing.T, lab *mdnslab.Lab, p *proc.Proc, name string) mdnslab.Service {
	t.Helper()
	return waitLabServiceAt(t, lab, p, name, "", 2*time.Minute)
}

// waitLabServiceAt polls avahi-browse for up to wait until it resolves the
// node's service, at addr if that is not "" and at no other address.
func waitLabServiceAt(t *testing.T, lab *mdnslab.Lab, p *proc.Proc, name, addr string, wait time.Duration) mdnslab.Service {
	t.Helper()
	var last []mdnslab.Service
	var lastErr error
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) && !p.Exited() {
		last, lastErr = lab.Browse(discovery.Service)
		var found []mdnslab.Service
		for _, s := range last {
			if s.Name == name && s.Type == discovery.Service {
				found = append(found, s)
			}
		}
		if len(found) > 0 && (addr == "" || !slices.ContainsFunc(found, func(s mdnslab.Service) bool { return s.Address != addr })) {
			return found[0]
		}
	}
	t.Fatalf("avahi-browse did not see %s at %q within %v (exited: %v): last saw %+v (%v)", name, addr, wait, p.Exited(), last, lastErr)
	return mdnslab.Service{}
}

func readIdentity(t *testing.T, data string) string {
	t.Helper()
	b, err := os.ReadFile(chatcore.DataLayout(data).Identity())
	if err != nil {
		t.Fatal(err)
	}
	var id struct {
		ClusterID string `json:"cluster_id"`
	}
	if err := json.Unmarshal(b, &id); err != nil || id.ClusterID == "" {
		t.Fatal(fmt.Errorf("identity: %v: %s", err, b))
	}
	return id.ClusterID
}

func caFingerprint(t *testing.T, data string) string {
	t.Helper()
	p, err := os.ReadFile(chatcore.DataLayout(data).TLS().CA)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := pki.ParseCertPEM(p)
	if err != nil {
		t.Fatal(err)
	}
	return pki.Fingerprint(cert.Raw)
}

// sendByDiscovery runs `parley send` through command (a lab's way to run a
// program on one of its hosts) with no server in its environment or
// config, so that only discovery can find a node, and returns the node
// addresses the CLI then remembered per cluster.
func sendByDiscovery(t *testing.T, command func(ctx context.Context, name string, args ...string) *exec.Cmd, text string) map[string][]string {
	t.Helper()
	env := cliEnv{user: "alice", password: password, configHome: t.TempDir()}
	ctx, cancel := context.WithTimeout(context.Background(), cliTimeout)
	defer cancel()
	cmd := command(ctx, parleyBin, "send", "--room", "lobby", text)
	cmd.Env = slices.DeleteFunc(env.environ(), func(kv string) bool { return strings.HasPrefix(kv, "PARLEY_SERVER=") })
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("parley send %q with no server: %v\n%s", text, err, out)
	}
	known, err := discovery.LoadKnownNodes(filepath.Join(env.configHome, "parley", discovery.KnownNodesFile))
	if err != nil {
		t.Fatal(err)
	}
	return known
}
