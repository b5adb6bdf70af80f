package daemon

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/pki"
)

// JoinTokenFile is where the first node writes the join token, mode 0600.
func JoinTokenFile(dataDir string) string { return filepath.Join(dataDir, "join-token") }

// startNode opens the node in cfg.DataDir, or bootstraps a new cluster, or
// joins the one at cfg.Join.
func startNode(ctx context.Context, cfg Config, ccfg chatcore.Config) (*chatcore.Node, error) {
	switch {
	case chatcore.HasIdentity(cfg.DataDir):
		if cfg.Join != "" {
			cfg.Logger.Info("data dir already holds a node; ignoring --join", "data", cfg.DataDir)
		}
		return chatcore.Open(ctx, ccfg)
	case cfg.Join != "":
		return joinCluster(ctx, cfg, ccfg)
	default:
		return bootstrapCluster(ctx, cfg, ccfg)
	}
}

func bootstrapCluster(ctx context.Context, cfg Config, ccfg chatcore.Config) (*chatcore.Node, error) {
	clusterID := hex.EncodeToString(randomBytes(8))
	caPEM, caKeyPEM, err := pki.NewCA(clusterID)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	ca, err := pki.LoadCA(caPEM, caKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	keyPEM, pub, err := pki.NewKey()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	certPEM, err := ca.IssueNodeCert(pub, ccfg.Name, certHosts(ccfg))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	token, err := pki.NewJoinToken(pki.Fingerprint(ca.Cert.Raw))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// The token file is written first: once the cluster exists, its token
	// can no longer be recovered from the registry (only its hash is there).
	if err := os.WriteFile(JoinTokenFile(cfg.DataDir), []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	n, err := chatcore.Bootstrap(ctx, ccfg, chatcore.BootstrapParams{
		ClusterID: clusterID, Shards: cfg.Shards, Replicas: cfg.Replicas, DeadAfter: cfg.DeadAfter,
		CACertPEM: caPEM, CAKeyPEM: caKeyPEM, NodeCertPEM: certPEM, NodeKeyPEM: keyPEM,
		TokenHash: pki.HashToken(token), Secret: randomBytes(32),
	})
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("bootstrapped a new cluster", "cluster", clusterID, "join_token_file", JoinTokenFile(cfg.DataDir))
	return n, nil
}

// certHosts lists the hosts a node certificate must name: the hosts of its
// Raft and client addresses.
func certHosts(ccfg chatcore.Config) []string {
	var hosts []string
	for _, a := range []string{ccfg.RaftAddr, ccfg.ClientAddr} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	return hosts
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("random: %v", err))
	}
	return b
}
