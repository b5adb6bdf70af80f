package daemon

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
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
	caPEM, caKeyPEM, err := transport.NewCA(clusterID)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	ca, err := transport.LoadCA(caPEM, caKeyPEM)
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	keyPEM, pub, err := transport.NewKey()
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	certPEM, err := ca.IssueNodeCert(pub, ccfg.Name, certHosts(ccfg))
	if err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	token := newJoinToken(transport.Fingerprint(ca.Cert.Raw))
	sum := sha256.Sum256([]byte(token))
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	// The token file is written first: once the cluster exists, its token
	// can no longer be recovered from the registry (only its hash is there).
	if err := os.WriteFile(JoinTokenFile(cfg.DataDir), []byte(token+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	n, err := chatcore.Bootstrap(ctx, ccfg, chatcore.BootstrapParams{
		ClusterID: clusterID, Shards: cfg.Shards,
		CACertPEM: caPEM, CAKeyPEM: caKeyPEM, NodeCertPEM: certPEM, NodeKeyPEM: keyPEM,
		TokenHash: sum[:], Secret: randomBytes(32),
	})
	if err != nil {
		return nil, err
	}
	cfg.Logger.Info("bootstrapped a new cluster", "cluster", clusterID, "join_token_file", JoinTokenFile(cfg.DataDir))
	return n, nil
}

// newJoinToken makes "<secret>.<CA fingerprint prefix>": the secret admits a
// node, the fingerprint lets the joining node check it reached the right
// cluster before it sends the secret.
func newJoinToken(caFingerprint string) string {
	secret := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(20)))
	return secret + "." + caFingerprint[:32]
}

func tokenFingerprint(token string) (string, error) {
	_, fp, ok := strings.Cut(token, ".")
	if !ok || len(fp) < 32 {
		return "", fmt.Errorf("join token: not of the form SECRET.FINGERPRINT: %w", chatcore.ErrInvalid)
	}
	return fp, nil
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
