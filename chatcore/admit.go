package chatcore

import (
	"context"
	"fmt"
	"net"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/pki"
)

// AdmitRequest is what a joining node asks a cluster for.
type AdmitRequest struct {
	Name       string
	RaftAddr   string
	ClientAddr string
	// HTTPAddr and HTTPSAddr are the node's web addresses, "" for none.
	HTTPAddr, HTTPSAddr string
	// PublicKey is the joining node's PKIX DER public key, for its
	// certificate; its private key never leaves it (see pki.NewKey).
	PublicKey []byte
	// Token is the join token the node presented. Admit checks it and
	// spends one of its uses in the command that registers the node, so
	// a single-use token admits exactly one node. Empty for an in-process
	// admission whose caller trusts the node.
	Token string
}

// Admission is a cluster's answer to an AdmitRequest: the new node's id and
// certificate, and the cluster CA.
type Admission struct {
	NodeID      uint64
	ClusterID   string
	CACertPEM   []byte
	NodeCertPEM []byte
}

// Admitter admits a node into a cluster. *Node is one, in-process; the
// daemon's is a client that asks a node over the network with the join
// token.
type Admitter interface {
	Admit(ctx context.Context, req AdmitRequest) (Admission, error)
}

// Join creates a node in cfg.DataDir that joins an existing cluster: it
// makes the node's key, asks a to admit it, and starts with the id and
// certificate it was given. Its replicas join as non-voting members, catch
// up, and are promoted where the placement wants a voter. A data dir that
// holds a node already is reopened, as by Open, and a is not asked.
func Join(ctx context.Context, cfg Config, a Admitter) (*Node, error) {
	if hasIdentity(cfg.FS, cfg.DataDir) {
		if cfg.Logger != nil {
			cfg.Logger.Info("data dir already holds a node; not joining again", "data", cfg.DataDir)
		}
		return Open(ctx, cfg)
	}
	if err := validateConfig(&cfg); err != nil {
		return nil, err
	}
	// Before the cluster admits a node that then could not start.
	if err := prepareDataDir(cfg, true); err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	keyPEM, pub, err := pki.NewKey()
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	adm, err := a.Admit(ctx, AdmitRequest{Name: cfg.Name, RaftAddr: cfg.RaftAddr, ClientAddr: cfg.ClientAddr,
		HTTPAddr: cfg.HTTPAddr, HTTPSAddr: cfg.HTTPSAddr, PublicKey: pub})
	if err != nil {
		return nil, fmt.Errorf("join: %w", err)
	}
	cfg.Logger.Info("admitted to cluster", "cluster", adm.ClusterID, "node", adm.NodeID)
	return join(ctx, cfg, joinParams{
		nodeID: adm.NodeID, clusterID: adm.ClusterID,
		caCertPEM: adm.CACertPEM, nodeCertPEM: adm.NodeCertPEM, nodeKeyPEM: keyPEM,
	})
}

// Admit registers a new node, signs its certificate with the cluster CA
// and adds it as a non-voting member of the registry, so it can catch up;
// the placement loop does the rest. The caller has checked that the node
// may join, or set req.Token: see AdmitRequest.Token.
// Admitting the same name and Raft address again (a retried join) returns
// the same id.
func (n *Node) Admit(ctx context.Context, req AdmitRequest) (Admission, error) {
	if err := parley.ValidateNodeName(req.Name); err != nil {
		return Admission{}, fmt.Errorf("admit: %w", err)
	}
	for _, a := range []string{req.RaftAddr, req.ClientAddr} {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return Admission{}, fmt.Errorf("admit: address %q: %v: %w", a, err, parley.ErrInvalid)
		}
	}
	if req.Token != "" {
		if err := n.checkAdmissionToken(ctx, req); err != nil {
			return Admission{}, fmt.Errorf("admit: %w", err)
		}
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		return Admission{}, fmt.Errorf("admit: %w", err)
	}
	ca, err := pki.LoadCA(info.CACertPEM, info.CAKeyPEM)
	if err != nil {
		return Admission{}, fmt.Errorf("admit: %w", err)
	}
	certPEM, err := ca.IssueNodeCert(req.PublicKey, req.Name, certHosts(req.RaftAddr, req.ClientAddr))
	if err != nil {
		return Admission{}, fmt.Errorf("admit: %w: %w", err, parley.ErrInvalid)
	}
	id, err := n.addNode(ctx, NodeRecord{Name: req.Name, RaftAddr: req.RaftAddr, ClientAddr: req.ClientAddr,
		HTTPAddr: req.HTTPAddr, HTTPSAddr: req.HTTPSAddr}, req.Token)
	if err != nil {
		return Admission{}, err
	}
	return Admission{NodeID: id, ClusterID: n.ClusterID(), CACertPEM: info.CACertPEM, NodeCertPEM: certPEM}, nil
}

// checkAdmissionToken checks req.Token before the node's certificate is
// made: a live token, or a used-up one that admitted this very node (name
// and Raft address) before, whose admission answer was lost.
func (n *Node) checkAdmissionToken(ctx context.Context, req AdmitRequest) error {
	if err := n.CheckJoinToken(ctx, req.Token); err != nil {
		return err
	}
	if !n.joinTokenUsedUp(req.Token) {
		return nil
	}
	id := tokenID(pki.HashToken(req.Token))
	nodes, err := n.Nodes()
	if err != nil {
		return err
	}
	for _, o := range nodes {
		if o.Name == req.Name && o.RaftAddr == req.RaftAddr && o.AdmittedBy == id {
			return nil
		}
	}
	return fmt.Errorf("join token %s: used up: %w", id, parley.ErrUnauthorized)
}
