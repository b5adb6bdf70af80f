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

// remoteAdmitter asks the node at addr, over the network and with the join
// token, to admit this one (see chatcore.Join).
type remoteAdmitter struct {
	addr, token string
}

// Admit sends the admission request to the node, having first checked that
// it presents the cluster CA the token names.
func (a remoteAdmitter) Admit(ctx context.Context, r chatcore.AdmitRequest) (chatcore.Admission, error) {
	fp, err := pki.TokenFingerprint(a.token)
	if err != nil {
		return chatcore.Admission{}, err
	}
	req := transport.AdmitRequest{Token: a.token, Name: r.Name, RaftAddr: r.RaftAddr, ClientAddr: r.ClientAddr,
		HTTPAddr: r.HTTPAddr, HTTPSAddr: r.HTTPSAddr, PublicKey: r.PublicKey, ApplyVersion: chatcore.ApplyRulesVersion}
	var resp transport.AdmitResponse
	if err := callAnonymous(ctx, a.addr, transport.FingerprintTLSConfig(fp), transport.OpAdmit, req, &resp); err != nil {
		return chatcore.Admission{}, fmt.Errorf("%s: %w", a.addr, err)
	}
	return chatcore.Admission{NodeID: resp.NodeID, ClusterID: resp.ClusterID, CACertPEM: resp.CAPEM, NodeCertPEM: resp.CertPEM}, nil
}

// callAnonymous makes one request on a fresh connection with an anonymous
// hello, the way a joining node talks to the cluster.
func callAnonymous(ctx context.Context, addr string, conf *tls.Config, op string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, w, err := transport.Connect(ctx, addr, transport.ConnectOptions{TLS: conf, Hello: nodeHello()})
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := checkApplyVersion("cluster's node", w.ApplyVersion); err != nil {
		return err
	}
	return conn.Call(ctx, op, body, out)
}
