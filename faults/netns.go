package faults

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/proc"
)

// The test network: a bridge in the harness's namespace at hostIP, and
// node i (1-based) at subnet+i in a namespace of its own.
const (
	subnet = "10.77.0."
	hostIP = subnet + "254"
	bridge = "faults0"
	// nsWait bounds the wait for a namespace holder to be in its namespace.
	nsWait = 10 * time.Second
)

// NodeIP returns the address of node i (1-based).
func NodeIP(i int) string { return subnet + strconv.Itoa(i) }

// Net is the test network: one namespace per node, each held open by a
// process of its own (so that a node can die and restart in the same
// namespace), joined to the harness's namespace by a veth on a bridge.
// Faults are iptables rules in the nodes' namespaces, in the chains
// FAULTS-IN and FAULTS-OUT, which Heal flushes.
type Net struct {
	holders []*proc.Proc // holders[i-1] holds node i's namespace
}

// NewNet makes the bridge and size node namespaces. It must run in a
// namespace of the harness's own (see Reexec).
func NewNet(size int) (*Net, error) {
	nw := &Net{}
	for _, args := range [][]string{
		{"link", "set", "lo", "up"},
		{"link", "add", bridge, "type", "bridge"},
		{"addr", "add", hostIP + "/24", "dev", bridge},
		{"link", "set", bridge, "up"},
	} {
		if err := run("ip", args...); err != nil {
			return nil, err
		}
	}
	for i := 1; i <= size; i++ {
		if err := nw.addNode(i); err != nil {
			nw.Close()
			return nil, err
		}
	}
	return nw, nil
}

// addNode makes node i's namespace, its veth and its fault chains.
func (nw *Net) addNode(i int) error {
	h, err := proc.Run(fmt.Sprintf("netns holder %d", i), exec.Command("unshare", "--net", "sleep", "infinity"))
	if err != nil {
		return err
	}
	nw.holders = append(nw.holders, h)
	if err := waitOwnNamespace(h.Pid()); err != nil {
		return err
	}
	pid := strconv.Itoa(h.Pid())
	veth := fmt.Sprintf("fv%d", i)
	steps := [][]string{
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pid},
		{"ip", "link", "set", veth, "master", bridge, "up"},
	}
	for _, in := range [][]string{
		{"ip", "link", "set", "lo", "up"},
		{"ip", "addr", "add", NodeIP(i) + "/24", "dev", "eth0"},
		{"ip", "link", "set", "eth0", "up"},
		{"iptables", "-w", "-N", "FAULTS-IN"},
		{"iptables", "-w", "-N", "FAULTS-OUT"},
		{"iptables", "-w", "-A", "INPUT", "-j", "FAULTS-IN"},
		{"iptables", "-w", "-A", "OUTPUT", "-j", "FAULTS-OUT"},
	} {
		steps = append(steps, append(nw.Wrap(i), in...))
	}
	for _, s := range steps {
		if err := run(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// waitOwnNamespace waits until process pid has left the harness's network
// namespace: unshare(1) enters the new one before it execs.
func waitOwnNamespace(pid int) error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	deadline := time.Now().Add(nsWait)
	for {
		got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err == nil && got != self {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("netns: process %d still in the harness's namespace after %v (%v)", pid, nsWait, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wrap returns the command prefix that runs a program in node i's
// namespace; nsenter execs the program, so it keeps nsenter's pid.
func (nw *Net) Wrap(i int) []string {
	return []string{"nsenter", fmt.Sprintf("--net=/proc/%d/ns/net", nw.holders[i-1].Pid()), "--"}
}

// iptables runs iptables with args in node i's namespace.
func (nw *Net) iptables(i int, args ...string) error {
	cmd := append(nw.Wrap(i), append([]string{"iptables", "-w"}, args...)...)
	return run(cmd[0], cmd[1:]...)
}

// Cut drops every packet between nodes i and j, both ways, including
// connections redirected through a proxy (matched by their original
// destination).
func (nw *Net) Cut(i, j int) error {
	for _, p := range [][2]int{{i, j}, {j, i}} {
		a, b := p[0], NodeIP(p[1])
		for _, rule := range [][]string{
			{"-A", "FAULTS-IN", "-s", b, "-j", "DROP"},
			{"-A", "FAULTS-IN", "-m", "conntrack", "--ctorigdst", b, "-j", "DROP"},
			{"-A", "FAULTS-OUT", "-m", "conntrack", "--ctorigdst", b, "-j", "DROP"},
		} {
			if err := nw.iptables(a, rule...); err != nil {
				return err
			}
		}
	}
	return nil
}

// Loss drops each packet that reaches node i with probability p.
func (nw *Net) Loss(i int, p float64) error {
	return nw.iptables(i, "-A", "FAULTS-IN", "-m", "statistic", "--mode", "random",
		"--probability", strconv.FormatFloat(p, 'f', 3, 64), "-j", "DROP")
}

// Heal removes every fault rule.
func (nw *Net) Heal() error {
	for i := 1; i <= len(nw.holders); i++ {
		for _, chain := range []string{"FAULTS-IN", "FAULTS-OUT"} {
			if err := nw.iptables(i, "-F", chain); err != nil {
				return err
			}
		}
	}
	return nil
}

// Redirect sends node i's TCP connections to port on node j through to,
// an address in the harness's namespace (a link proxy).
func (nw *Net) Redirect(i, j, port int, to string) error {
	return nw.iptables(i, "-t", "nat", "-A", "OUTPUT", "-d", NodeIP(j), "-p", "tcp",
		"--dport", strconv.Itoa(port), "-j", "DNAT", "--to-destination", to)
}

// Close ends the namespaces' holders; a namespace goes when its last
// process has.
func (nw *Net) Close() {
	for _, h := range nw.holders {
		h.Kill()
	}
}

// run runs a command and returns its output in the error if it fails.
func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// envInNamespace marks a test process that runs in its own namespace.
const envInNamespace = "PARLEY_FAULTS_NETNS"

// Reexec makes sure the calling process runs in a network namespace of
// its own: if it does not yet, it runs its own executable again with the
// same arguments under "unshare --net" and returns that run's exit code
// with reexeced true; the caller then exits with it. Only root can do
// this, and the error says so.
func Reexec() (code int, reexeced bool, err error) {
	if os.Getenv(envInNamespace) != "" {
		return 0, false, nil
	}
	if os.Geteuid() != 0 {
		return 1, true, fmt.Errorf("faults: the fault suite needs root to make network namespaces and iptables rules (CI runs as root)")
	}
	for _, tool := range []string{"unshare", "nsenter", "ip", "iptables"} {
		if _, err := exec.LookPath(tool); err != nil {
			return 1, true, fmt.Errorf("faults: %s is missing (Debian packages util-linux, iproute2, iptables): %w", tool, err)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		return 1, true, fmt.Errorf("faults: %w", err)
	}
	cmd := exec.Command("unshare", append([]string{"--net", exe}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInNamespace+"=1")
	p, err := proc.Run("faults in a namespace", cmd)
	if err != nil {
		return 1, true, err
	}
	if err := p.Err(); err != nil {
		return p.ExitCode(), true, nil
	}
	return 0, true, nil
}
