package proccluster

import (
	"fmt"
	"sync"
	"syscall"
	"time"

	"github.com/parleychat/parley/internal/proc"
)

// Node is one parleyd process of a Cluster. Its arguments, so its
// addresses and data directory, never change: a restart brings back the
// same node.
type Node struct {
	Name   string // n1, n2, …; names its data directory and log
	Data   string // data directory
	Log    string // log file, appended to by every start
	Client string // QUIC (UDP) address for clients
	Raft   string // TCP address for Raft
	HTTP   string // TCP address of /livez, /healthz, /readyz and /metrics

	bin      string
	args     []string
	launcher proc.Launcher

	mu     sync.Mutex
	id     uint64     // registry node id, learnt from /livez
	p      *proc.Proc // the current incarnation
	paused bool
}

// Start starts the node's process with its fixed arguments; it fails if
// the process runs already.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p != nil && !n.p.Exited() {
		return fmt.Errorf("start %s: already running", n.Name)
	}
	p, err := n.launcher.Start(n.Name, n.bin, n.args, n.Log)
	if err != nil {
		return err
	}
	n.p, n.paused = p, false
	return nil
}

// Proc returns the node's current process, nil before the first Start.
func (n *Node) Proc() *proc.Proc {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p
}

// Pid returns the process id of the node's process, 0 if none runs.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p == nil || n.p.Exited() {
		return 0
	}
	return n.p.Pid()
}

// Alive reports whether the node's process runs and is not paused.
func (n *Node) Alive() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.p != nil && !n.p.Exited() && !n.paused
}

// ID returns the node's registry id (0 before it first answered /healthz).
func (n *Node) ID() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.id
}

// String names the node for logs: "n2 (node 2)".
func (n *Node) String() string { return fmt.Sprintf("%s (node %d)", n.Name, n.ID()) }

// Kill kills the node's process with SIGKILL and waits until it is gone.
func (n *Node) Kill() error {
	p := n.Proc()
	if p == nil {
		return fmt.Errorf("kill %s: not started", n.Name)
	}
	return p.Kill()
}

// Stop stops the node's process, if any, with SIGTERM, and kills it if it
// has not ended after grace.
func (n *Node) Stop(grace time.Duration) error {
	p := n.Proc()
	if p == nil {
		return nil
	}
	return p.Stop(grace)
}

// Pause stops the node's process with SIGSTOP.
func (n *Node) Pause() error { return n.signal(syscall.SIGSTOP) }

// Resume continues the node's process with SIGCONT.
func (n *Node) Resume() error { return n.signal(syscall.SIGCONT) }

// signal sends sig to the node's process and records a stop or continue.
func (n *Node) signal(sig syscall.Signal) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.p == nil || n.p.Exited() {
		return fmt.Errorf("signal %s: not running", n.Name)
	}
	if err := n.p.Signal(sig); err != nil {
		return err
	}
	n.paused = sig == syscall.SIGSTOP
	return nil
}
