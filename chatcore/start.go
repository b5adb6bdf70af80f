package chatcore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/placement"
)

// Start creates or reopens the node in cfg.DataDir: this is the one call
// a program embedding Parley needs. A data dir that holds a node is
// reopened, as by Open. Otherwise Start creates a new cluster with this node
// as its first member: it makes the cluster CA, the node's certificate and
// key, the session secret and the join token, which it writes to
// Layout.JoinToken (mode 0600) for other nodes to Join with. Other nodes
// join through an Admitter (see Join).
func Start(ctx context.Context, cfg Config) (*Node, error) {
	if hasIdentity(cfg.FS, cfg.DataDir) {
		return Open(ctx, cfg)
	}
	if cfg.Shards > maxShards {
		return nil, fmt.Errorf("bootstrap: %d shards, limit %d: %w", cfg.Shards, maxShards, parley.ErrInvalid)
	}
	if err := validateConfig(&cfg); err != nil {
		return nil, err
	}
	replicas, deadAfter, err := clusterSettings(cfg)
	if err != nil {
		return nil, err
	}
	p, token, err := newCluster(cfg)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := prepareDataDir(cfg, true); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// The token file is written first: once the cluster exists, its token
	// can no longer be recovered from the registry (only its hash is there).
	if err := writeFileOn(fsOrDisk(cfg.FS), DataLayout(cfg.DataDir).JoinToken(), []byte(token+"\n"), dataFileMode); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	p.replicas, p.deadAfter = replicas, deadAfter
	n, err := bootstrap(ctx, cfg, p)
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("bootstrapped a new cluster", "cluster", p.clusterID, "join_token_file", DataLayout(cfg.DataDir).JoinToken())
	return n, nil
}

// clusterSettings validates the replication and dead-after a new cluster
// is asked for, and fills in their defaults.
func clusterSettings(cfg Config) (replicas int, deadAfter time.Duration, err error) {
	replicas, deadAfter = cfg.Replicas, cfg.DeadAfter
	if replicas == 0 {
		replicas = placement.DefaultReplication
	}
	if replicas < 1 || replicas > MaxReplication || replicas%2 == 0 {
		return 0, 0, fmt.Errorf("bootstrap: %d replicas: want an odd number from 1 to %d: %w", replicas, MaxReplication, parley.ErrInvalid)
	}
	if deadAfter == 0 {
		deadAfter = DefaultDeadAfter
	}
	if deadAfter < MinDeadAfter {
		return 0, 0, fmt.Errorf("bootstrap: dead-after %v: at least %v: %w", deadAfter, MinDeadAfter, parley.ErrInvalid)
	}
	return replicas, deadAfter, nil
}

// newCluster makes what a new cluster starts with: its id, CA, the first
// node's certificate and key, the session secret and the join token (which
// the registry keeps only the hash of).
func newCluster(cfg Config) (bootstrapParams, string, error) {
	id, err := randomBytes(8)
	if err != nil {
		return bootstrapParams{}, "", err
	}
	p := bootstrapParams{clusterID: hex.EncodeToString(id), shards: cfg.Shards}
	if p.caCertPEM, p.caKeyPEM, err = pki.NewCA(p.clusterID); err != nil {
		return p, "", err
	}
	ca, err := pki.LoadCA(p.caCertPEM, p.caKeyPEM)
	if err != nil {
		return p, "", err
	}
	keyPEM, pub, err := pki.NewKey()
	if err != nil {
		return p, "", err
	}
	p.nodeKeyPEM = keyPEM
	if p.nodeCertPEM, err = ca.IssueNodeCert(pub, cfg.Name, certHosts(cfg.RaftAddr, cfg.ClientAddr)); err != nil {
		return p, "", err
	}
	token, err := pki.NewJoinToken(pki.Fingerprint(ca.Cert.Raw))
	if err != nil {
		return p, "", err
	}
	p.tokenHash = pki.HashToken(token)
	if p.secret, err = randomBytes(32); err != nil {
		return p, "", err
	}
	return p, token, nil
}

// certHosts lists the hosts a node certificate must name: the hosts of its
// Raft and client addresses.
func certHosts(addrs ...string) []string {
	var hosts []string
	for _, a := range addrs {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("random: %w", err)
	}
	return b, nil
}
