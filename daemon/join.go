package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// joinCluster asks the node at cfg.Join to admit this one, then starts it
// with the id and certificate it was given.
func joinCluster(ctx context.Context, cfg Config, ccfg chatcore.Config) (*chatcore.Node, error) {
	fp, err := pki.TokenFingerprint(cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	keyPEM, pub, err := pki.NewKey()
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	req := transport.AdmitRequest{Token: cfg.Token, Name: ccfg.Name, RaftAddr: ccfg.RaftAddr, ClientAddr: ccfg.ClientAddr, PublicKey: pub}
	var resp transport.AdmitResponse
	if err := callAnonymous(ctx, cfg.Join, transport.FingerprintTLSConfig(fp), transport.OpAdmit, req, &resp); err != nil {
		return nil, fmt.Errorf("join %s: %w", cfg.Join, err)
	}
	cfg.Logger.Info("admitted to cluster", "cluster", resp.ClusterID, "node", resp.NodeID)
	return chatcore.Join(ctx, ccfg, chatcore.JoinParams{
		NodeID: resp.NodeID, ClusterID: resp.ClusterID,
		CACertPEM: resp.CAPEM, NodeCertPEM: resp.CertPEM, NodeKeyPEM: keyPEM,
	})
}

// callAnonymous makes one request on a fresh connection with an anonymous
// hello, the way a joining node talks to the cluster.
func callAnonymous(ctx context.Context, addr string, conf *tls.Config, op string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := transport.Connect(ctx, addr, transport.ConnectOptions{TLS: conf})
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Call(ctx, op, body, out)
}
