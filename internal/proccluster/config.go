package proccluster

import (
	"path/filepath"
	"strconv"

	"github.com/parleychat/parley/internal/freeport"
	"github.com/parleychat/parley/internal/proc"
)

// Config is what every node of a cluster shares.
type Config struct {
	// Parleyd is the path of the parleyd binary.
	Parleyd string
	// Dir holds each node's data directory and log.
	Dir string
	// Size is the number of nodes Start starts.
	Size int
	// Profile is the nodes' memory profile, small or default.
	Profile string
	// Shards is the number of room shards.
	Shards int
	// Args are more arguments for every node, such as "--log-level warn".
	Args []string
	// Launcher starts the nodes' processes.
	Launcher proc.Launcher
	// Addrs, if not nil, gives the node called name its client (UDP),
	// Raft (TCP) and HTTP (TCP) addresses. If nil, each is a free port on
	// 127.0.0.1.
	Addrs func(name string) (client, raft, http string)
}

// NewNode makes, without starting it, the node called name: it gives it
// its addresses (see Config.Addrs) and the arguments of cfg, then extra
// (such as "--join" and "--token-file").
func (cfg Config) NewNode(name string, extra ...string) (*Node, error) {
	var addrs [3]string
	if cfg.Addrs != nil {
		addrs[0], addrs[1], addrs[2] = cfg.Addrs(name)
	} else {
		for i := range addrs {
			a, err := freeport.Addr()
			if err != nil {
				return nil, err
			}
			addrs[i] = a
		}
	}
	n := &Node{
		Name:     name,
		Data:     filepath.Join(cfg.Dir, name),
		Log:      filepath.Join(cfg.Dir, name+".log"),
		Client:   addrs[0],
		Raft:     addrs[1],
		HTTP:     addrs[2],
		bin:      cfg.Parleyd,
		launcher: cfg.Launcher,
	}
	n.args = []string{
		"--data", n.Data, "--listen", n.Client, "--raft", n.Raft, "--http", n.HTTP,
		"--advertise", "127.0.0.1", "--name", name, "--profile", cfg.Profile,
		"--shards", strconv.Itoa(cfg.Shards),
	}
	n.args = append(n.args, cfg.Args...)
	n.args = append(n.args, extra...)
	return n, nil
}
