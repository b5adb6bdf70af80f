package daemon

import (
	"context"
	"crypto/tls"
	"fmt"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// joinCluster asks the node at cfg.Join to admit this one, then starts it
// with the id and certificate it was given.
func joinCluster(ctx context.Context, cfg Config, ccfg chatcore.Config) (*chatcore.Node, error) {
	fp, err := tokenFingerprint(cfg.Token)
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	keyPEM, pub, err := transport.NewKey()
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	req := transport.AdmitRequest{Token: cfg.Token, Name: ccfg.Name, RaftAddr: ccfg.RaftAddr, ClientAddr: ccfg.ClientAddr, HTTPAddr: ccfg.HTTPAddr, HTTPSAddr: ccfg.HTTPSAddr, PublicKey: pub}
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
	conn, err := transport.Dial(ctx, addr, conf)
	if err != nil {
		return err
	}
	defer conn.CloseWithError(0, "done")
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return fmt.Errorf("stream: %w", err)
	}
	if d, ok := ctx.Deadline(); ok {
		stream.SetDeadline(d)
	}
	r := transport.NewFrameReader(stream, transport.DefaultMaxFrame)
	if err := transport.WriteFrame(stream, transport.Hello{Version: transport.ProtocolVersion}, transport.DefaultMaxFrame); err != nil {
		return err
	}
	var w transport.Welcome
	if err := r.Read(&w); err != nil {
		return fmt.Errorf("welcome: %w", err)
	}
	if w.Error != nil {
		return w.Error
	}
	raw, err := transport.Marshal(body)
	if err != nil {
		return err
	}
	if err := transport.WriteFrame(stream, transport.Request{ID: 1, Op: op, Body: raw}, transport.DefaultMaxFrame); err != nil {
		return err
	}
	var resp transport.Response
	if err := r.Read(&resp); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	if resp.Error != nil {
		return resp.Error
	}
	if err := transport.Unmarshal(resp.Body, out); err != nil {
		return fmt.Errorf("response: %w", err)
	}
	return nil
}
