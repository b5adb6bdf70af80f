// Package mdnslab is a test laboratory for mDNS: two hosts on a LAN of
// their own, each a network and a mount namespace, joined by a veth pair,
// over IPv4 only (Start) or IPv6 only (StartIPv6). The "node" host runs what a test
// starts (Command) and has an /etc/hosts naming it Host; the "avahi" host
// runs its own D-Bus system bus and avahi-daemon, and
// Browse asks it what it sees with avahi-browse. Tests so announce and
// browse with the real tools without touching the host's network; two
// hosts are needed because an mDNS responder answers a query by unicast to
// port 5353, which on one host reaches only one of the sockets bound there.
// Only root can make a lab.
package mdnslab

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/parleychat/parley/internal/proc"
)

// The lab's network: IP (or IP6 in an IPv6 lab) on the node host,
// avahiIP (avahiIP6) on the avahi host, with multicast routed out of the
// veth on each.
const (
	// IP is the node host's address in an IPv4 lab.
	IP      = "10.78.0.1"
	avahiIP = "10.78.0.2"
	// IP6 is the node host's address in an IPv6 lab.
	IP6      = "fd00:78::1"
	avahiIP6 = "fd00:78::2"
	// Host is the node host's name in its own /etc/hosts, for IP (IP6 in an
	// IPv6 lab): what a node advertises to be reached over IPv6, since
	// Raft takes no IPv6 literal.
	Host = "node.parley-lab"
	// readyWait bounds the start of the namespace and of avahi-daemon.
	readyWait = 30 * time.Second
)

// tools are the programs a lab needs and the Debian packages holding them.
var tools = map[string]string{
	"unshare": "util-linux", "nsenter": "util-linux", "mount": "mount", "ip": "iproute2", "sh": "dash",
	"dbus-daemon": "dbus-daemon", "avahi-daemon": "avahi-daemon", "avahi-browse": "avahi-utils",
}

// Lab is a running laboratory.
type Lab struct {
	dir         string
	opts        Options
	node, avahi *proc.Proc // the namespaces' holders
	procs       []*proc.Proc
}

// Start makes an IPv4 lab with its files in dir. The error names a
// missing tool and its package; a lab that fails to start is cleaned up.
func Start(dir string) (*Lab, error) { return StartWith(dir, Options{}) }

// StartIPv6 makes a lab whose hosts have IPv6 addresses only (IP6 and
// avahiIP6, and their link-local ones) and whose avahi-daemon speaks mDNS
// over IPv6 only.
func StartIPv6(dir string) (*Lab, error) { return StartWith(dir, Options{IPv6: true}) }

// Options say what kind of lab to make.
type Options struct {
	// IPv6 makes an IPv6-only lab (StartIPv6).
	IPv6 bool
	// Decoy gives the node host, in an IPv4 lab, a second interface, d0,
	// with DecoyIP, that is its default multicast interface (the route to
	// 224.0.0.0/4 goes there, not to the LAN): a machine with a container
	// bridge or a second network.
	Decoy bool
}

// DecoyIP is the address of the node host's second interface in a lab
// with Options.Decoy.
const DecoyIP = "10.79.0.1"

// StartWith makes the lab that o describes.
func StartWith(dir string, o Options) (*Lab, error) {
	if os.Geteuid() != 0 {
		return nil, fmt.Errorf("mdnslab: needs root to make namespaces (CI runs as root)")
	}
	for tool, pkg := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			return nil, fmt.Errorf("mdnslab: %s is missing (Debian package %s): %w", tool, pkg, err)
		}
	}
	l := &Lab{dir: dir, opts: o}
	var err error
	if l.node, err = proc.Run("mdns lab node host", exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sleep", "infinity")); err != nil {
		return nil, fmt.Errorf("mdnslab: %w", err)
	}
	if l.avahi, err = proc.Run("mdns lab avahi host", exec.Command("unshare", "--net", "--mount", "--propagation", "private", "sleep", "infinity")); err != nil {
		l.Close()
		return nil, fmt.Errorf("mdnslab: %w", err)
	}
	if err := l.setup(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) setup() error {
	for _, h := range []*proc.Proc{l.node, l.avahi} {
		if err := waitNamespace(h); err != nil {
			return err
		}
	}
	node, avahiNS := l.Wrap(), l.avahiWrap()
	// No duplicate address detection: addresses, link-local ones too, are
	// usable at once rather than after a second or two.
	noDAD := "echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad && echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad"
	hosts := filepath.Join(l.dir, "hosts")
	ip := IP
	if l.opts.IPv6 {
		ip = IP6
	}
	if err := os.WriteFile(hosts, []byte("127.0.0.1 localhost\n::1 localhost\n"+ip+" "+Host+"\n"), 0o644); err != nil {
		return fmt.Errorf("mdnslab: %w", err)
	}
	// An IPv4 lab has no IPv6 at all, link-local addresses included, so
	// that what it tests goes over IPv4.
	noIPv6 := "echo 1 >/proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 >/proc/sys/net/ipv6/conf/default/disable_ipv6"
	family := noDAD
	if !l.opts.IPv6 {
		family = noIPv6
	}
	steps := [][]string{
		append(avahiNS, "mount", "-t", "tmpfs", "tmpfs", "/run"), // avahi's pid file and socket, the lab's own
		append(node, "mount", "--bind", hosts, "/etc/hosts"),
		append(avahiNS, "sh", "-c", family),
		append(node, "sh", "-c", family),
		append(avahiNS, "ip", "link", "add", "pa1", "type", "veth", "peer", "name", "pa0", "netns", strconv.Itoa(l.node.Pid())),
	}
	if l.opts.IPv6 {
		steps = append(steps,
			append(avahiNS, "ip", "-6", "addr", "add", avahiIP6+"/64", "dev", "pa1", "nodad"),
			append(node, "ip", "-6", "addr", "add", IP6+"/64", "dev", "pa0", "nodad"))
	} else {
		steps = append(steps,
			append(avahiNS, "ip", "addr", "add", avahiIP+"/24", "dev", "pa1"),
			append(node, "ip", "addr", "add", IP+"/24", "dev", "pa0"))
	}
	steps = append(steps,
		append(avahiNS, "ip", "link", "set", "pa1", "up"),
		append(avahiNS, "ip", "link", "set", "lo", "up"),
		append(node, "ip", "link", "set", "pa0", "up"),
		append(node, "ip", "link", "set", "lo", "up"))
	switch {
	case l.opts.IPv6:
	case l.opts.Decoy:
		steps = append(steps,
			append(avahiNS, "ip", "route", "add", "224.0.0.0/4", "dev", "pa1"),
			append(node, "ip", "link", "add", "d0", "type", "veth", "peer", "name", "d1"), // a link to nowhere
			append(node, "ip", "addr", "add", DecoyIP+"/24", "dev", "d0"),
			append(node, "ip", "link", "set", "d1", "up"),
			append(node, "ip", "link", "set", "d0", "up"),
			append(node, "ip", "route", "add", "224.0.0.0/4", "dev", "d0"))
	default:
		steps = append(steps,
			append(avahiNS, "ip", "route", "add", "224.0.0.0/4", "dev", "pa1"),
			append(node, "ip", "route", "add", "224.0.0.0/4", "dev", "pa0"))
	}
	for _, args := range steps {
		if out, err := exec.Command(args[0], args[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("mdnslab: %s: %w: %s", strings.Join(args, " "), err, out)
		}
	}
	bus := filepath.Join(l.dir, "bus.conf")
	if err := os.WriteFile(bus, []byte(busConf(filepath.Join(l.dir, "bus"))), 0o600); err != nil {
		return fmt.Errorf("mdnslab: %w", err)
	}
	avahi := filepath.Join(l.dir, "avahi.conf")
	conf := avahiConf
	if l.opts.IPv6 {
		conf = strings.Replace(strings.Replace(conf, "use-ipv4=yes", "use-ipv4=no", 1), "use-ipv6=no", "use-ipv6=yes", 1)
	}
	if err := os.WriteFile(avahi, []byte(conf), 0o600); err != nil {
		return fmt.Errorf("mdnslab: %w", err)
	}
	for _, args := range [][]string{
		{"dbus-daemon", "--config-file=" + bus, "--nofork", "--nopidfile"},
		{"avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", avahi},
	} {
		cmd := l.avahiCommand(context.Background(), args[0], args[1:]...)
		log, err := os.Create(filepath.Join(l.dir, args[0]+".log"))
		if err != nil {
			return fmt.Errorf("mdnslab: %w", err)
		}
		defer log.Close()
		cmd.Stdout, cmd.Stderr = log, log
		p, err := proc.Run(args[0], cmd)
		if err != nil {
			return fmt.Errorf("mdnslab: %w", err)
		}
		l.procs = append(l.procs, p)
		if err := l.waitReady(args[0], p); err != nil {
			return err
		}
	}
	return nil
}

// waitReady polls until the daemon just started answers: the bus's socket
// exists, or avahi-browse gets through to avahi-daemon.
func (l *Lab) waitReady(name string, p *proc.Proc) error {
	deadline := time.Now().Add(readyWait)
	for {
		var err error
		if name == "dbus-daemon" {
			_, err = os.Stat(filepath.Join(l.dir, "bus"))
		} else {
			var out []byte
			if out, err = l.avahiCommand(context.Background(), "avahi-browse", "-t", "-p", "-k", "_parley._udp").CombinedOutput(); err != nil {
				err = fmt.Errorf("%w: %s", err, out)
			}
		}
		switch {
		case err == nil:
			return nil
		case p.Exited():
			return fmt.Errorf("mdnslab: %s exited: %v: %s", name, p.Err(), proc.Tail(filepath.Join(l.dir, name+".log"), 20))
		case time.Now().After(deadline):
			return fmt.Errorf("mdnslab: %s not ready after %v: %v", name, readyWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitNamespace waits until holder h is in its own network namespace:
// unshare(1) enters it before it execs.
func waitNamespace(h *proc.Proc) error {
	self, err := os.Readlink("/proc/self/ns/net")
	if err != nil {
		return fmt.Errorf("mdnslab: %w", err)
	}
	deadline := time.Now().Add(readyWait)
	for {
		got, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", h.Pid()))
		if err == nil && got != self {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mdnslab: namespace holder not in its namespace after %v (%v)", readyWait, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Wrap returns the command prefix that runs a program on the lab's node
// host, which has the lab's /etc/hosts; nsenter execs the program, so it
// keeps nsenter's pid.
func (l *Lab) Wrap() []string {
	pid := strconv.Itoa(l.node.Pid())
	return []string{"nsenter", "--net=/proc/" + pid + "/ns/net", "--mount=/proc/" + pid + "/ns/mnt", "--"}
}

// avahiWrap is Wrap for the avahi host.
func (l *Lab) avahiWrap() []string {
	pid := strconv.Itoa(l.avahi.Pid())
	return []string{"nsenter", "--net=/proc/" + pid + "/ns/net", "--mount=/proc/" + pid + "/ns/mnt", "--"}
}

// Command returns a command that runs name on the lab's node host.
func (l *Lab) Command(name string, args ...string) *exec.Cmd {
	return l.CommandContext(context.Background(), name, args...)
}

// CommandContext is Command bounded by ctx.
func (l *Lab) CommandContext(ctx context.Context, name string, args ...string) *exec.Cmd {
	w := l.Wrap()
	return exec.CommandContext(ctx, w[0], append(append(w[1:], name), args...)...)
}

// AvahiHostCommand returns a command that runs name on the lab's avahi
// host: a second machine on the node host's LAN.
func (l *Lab) AvahiHostCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	return l.avahiCommand(ctx, name, args...)
}

// avahiCommand runs name on the avahi host, with the lab's D-Bus system
// bus in its environment.
func (l *Lab) avahiCommand(ctx context.Context, name string, args ...string) *exec.Cmd {
	w := l.avahiWrap()
	cmd := exec.CommandContext(ctx, w[0], append(append(w[1:], name), args...)...)
	cmd.Env = append(os.Environ(), "DBUS_SYSTEM_BUS_ADDRESS=unix:path="+filepath.Join(l.dir, "bus"))
	return cmd
}

// Close stops the lab's daemons and its namespace.
func (l *Lab) Close() {
	for i := len(l.procs) - 1; i >= 0; i-- {
		l.procs[i].Stop(5 * time.Second)
	}
	for _, h := range []*proc.Proc{l.avahi, l.node} {
		if h != nil {
			h.Kill()
		}
	}
}

// busConf is a D-Bus system bus that lets everything through: it serves
// only the lab.
func busConf(socket string) string {
	return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=` + socket + `</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`
}

// avahiConf is avahi-daemon's configuration in the lab: IPv4 only (IPv6
// only in an IPv6 lab), and publishing nothing of its own.
const avahiConf = `[server]
use-ipv4=yes
use-ipv6=no
[publish]
publish-workstation=no
publish-hinfo=no
`
