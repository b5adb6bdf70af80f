package proccluster

import (
	"path/filepath"
	"strconv"
)

// NodeSpec is a node whose addresses, and the command it runs under, the
// caller chooses: a harness that puts each node in a network namespace of
// its own gives it that namespace's address and a wrapper such as
// "nsenter --net=/proc/PID/ns/net --".
type NodeSpec struct {
	// Name names the node, its data directory and its log.
	Name string
	// Client, Raft and HTTP are the addresses the node listens on.
	Client, Raft, HTTP string
	// Advertise is the host other nodes and clients reach the node at.
	Advertise string
	// Wrap, if not empty, is the command that runs parleyd: its first
	// word is the program, the rest its arguments before parleyd's path.
	// The wrapper must exec parleyd in its own process, so that signals
	// to the node reach parleyd.
	Wrap []string
	// Extra are more arguments, such as "--join" and "--token".
	Extra []string
}

// NewNodeFrom makes, without starting it, the node s describes, with the
// arguments of cfg.
func (cfg Config) NewNodeFrom(s NodeSpec) *Node {
	n := &Node{
		Name:     s.Name,
		Data:     filepath.Join(cfg.Dir, s.Name),
		Log:      filepath.Join(cfg.Dir, s.Name+".log"),
		Client:   s.Client,
		Raft:     s.Raft,
		HTTP:     s.HTTP,
		bin:      cfg.Parleyd,
		launcher: cfg.Launcher,
	}
	n.args = []string{
		"--data", n.Data, "--listen", n.Client, "--raft", n.Raft, "--http", n.HTTP,
		"--advertise", s.Advertise, "--name", s.Name, "--profile", cfg.Profile,
		"--shards", strconv.Itoa(cfg.Shards),
	}
	n.args = append(n.args, cfg.Args...)
	n.args = append(n.args, s.Extra...)
	if len(s.Wrap) > 0 {
		n.args = append(append(append([]string{}, s.Wrap[1:]...), cfg.Parleyd), n.args...)
		n.bin = s.Wrap[0]
	}
	return n
}
