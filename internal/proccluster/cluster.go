package proccluster

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/parleychat/parley/chatcore"
)

// Cluster is a Parley cluster of parleyd processes on 127.0.0.1.
type Cluster struct {
	// Config is what every node shares.
	Config Config
	// Nodes are the nodes, n1 first.
	Nodes []*Node
	// Token is the join token n1 wrote at bootstrap.
	Token string
	// CAFile is the cluster CA's certificate, for clients that pin it.
	CAFile string
}

// Start starts cfg.Size nodes called n1, n2... under cfg.Dir, one after
// another: n1 bootstraps the cluster, and each other node joins it through
// n1 with n1's join token, which it reads from n1's join-token file (a
// secret is never put on a command line, where ps shows it). A node whose
// data directory holds a node already restarts as it was. Each node must
// pass waitHealthy before the next one starts. On error, the returned
// Cluster, if not nil, holds whatever was started, for the caller to stop.
func Start(cfg Config, waitHealthy func(*Node) error) (*Cluster, error) {
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	c := &Cluster{Config: cfg}
	for i := 1; i <= cfg.Size; i++ {
		name := fmt.Sprintf("n%d", i)
		var join []string
		if i > 1 && !chatcore.HasIdentity(filepath.Join(cfg.Dir, name)) {
			join = []string{"--join", c.Nodes[0].Client, "--token-file", chatcore.DataLayout(c.Nodes[0].Data).JoinToken()}
		}
		n, err := cfg.NewNode(name, join...)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, n)
		if err := n.Start(); err != nil {
			return c, err
		}
		if err := waitHealthy(n); err != nil {
			return c, err
		}
		if i == 1 {
			tok, err := os.ReadFile(chatcore.DataLayout(n.Data).JoinToken())
			if err != nil {
				return c, fmt.Errorf("join token: %w", err)
			}
			c.Token = strings.TrimSpace(string(tok))
			c.CAFile = chatcore.DataLayout(n.Data).TLS().CA
		}
	}
	return c, nil
}

// NodeByID returns the node with registry id id, or nil.
func (c *Cluster) NodeByID(id uint64) *Node {
	for _, n := range c.Nodes {
		if n.ID() == id {
			return n
		}
	}
	return nil
}
