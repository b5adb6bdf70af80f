package transport

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/parleychat/parley/pki"
)

// ServerTLSConfig makes the TLS 1.3 configuration of a node's QUIC listener.
// The node presents the chain [node certificate, CA certificate], so a client
// can learn and pin the CA. A peer may present a client certificate; if it
// does, it must be signed by the CA (a node dialing another node), else the
// handshake fails. Peers without a certificate (users) are accepted; check
// tls.ConnectionState.VerifiedChains to tell them apart.
func ServerTLSConfig(certPEM, keyPEM, caPEM []byte) (*tls.Config, error) {
	cert, ca, err := nodeCertificate(certPEM, keyPEM, caPEM, x509.ExtKeyUsageServerAuth)
	if err != nil {
		return nil, fmt.Errorf("server tls: %w", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{ALPN},
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.VerifyClientCertIfGiven,
		ClientCAs:    pool,
	}, nil
}

// NodeClientTLSConfig makes the TLS 1.3 configuration a node uses to dial
// another node: it presents its node certificate and accepts only a server
// whose certificate is signed by the cluster CA for server authentication.
// Host names are not checked: membership of the cluster is what counts.
func NodeClientTLSConfig(certPEM, keyPEM, caPEM []byte) (*tls.Config, error) {
	cert, ca, err := nodeCertificate(certPEM, keyPEM, caPEM, x509.ExtKeyUsageClientAuth)
	if err != nil {
		return nil, fmt.Errorf("node client tls: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		NextProtos:   []string{ALPN},
		Certificates: []tls.Certificate{cert},
		// The chain is checked in VerifyConnection, without host names.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := verifyLeaf(cs.PeerCertificates, ca); err != nil {
				return fmt.Errorf("server certificate: %w", err)
			}
			return nil
		},
	}, nil
}

// nodeCertificate loads a node's key pair, checks that the certificate is
// signed by the CA for usage, and appends the CA to the presented chain if
// certPEM does not already end with it.
func nodeCertificate(certPEM, keyPEM, caPEM []byte, usage x509.ExtKeyUsage) (tls.Certificate, *x509.Certificate, error) {
	ca, err := pki.ParseCertPEM(caPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("ca: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("key pair: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("key pair: %w", err)
	}
	cert.Leaf = leaf
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("node certificate not signed by the CA: %w", err)
	}
	if !hasUsage(leaf, usage) {
		return tls.Certificate{}, nil, errors.New("node certificate lacks the needed extended key usage")
	}
	if !bytes.Equal(cert.Certificate[len(cert.Certificate)-1], ca.Raw) {
		cert.Certificate = append(cert.Certificate, ca.Raw)
	}
	return cert, ca, nil
}

func hasUsage(c *x509.Certificate, usage x509.ExtKeyUsage) bool {
	for _, u := range c.ExtKeyUsage {
		if u == usage || u == x509.ExtKeyUsageAny {
			return true
		}
	}
	return false
}

// verifyLeaf checks that the first certificate of a presented chain is valid
// for server authentication under the single root ca, using the rest of the
// chain as intermediates.
func verifyLeaf(chain []*x509.Certificate, ca *x509.Certificate) error {
	if len(chain) == 0 {
		return errors.New("none presented")
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	})
	return err
}

// presentedCA returns the last certificate of a presented chain if it is a
// self-signed CA distinct from the leaf, and checks that the leaf verifies
// against it.
func presentedCA(chain []*x509.Certificate) (*x509.Certificate, error) {
	if len(chain) < 2 {
		return nil, errors.New("server certificate: chain does not include the CA")
	}
	ca := chain[len(chain)-1]
	if !ca.IsCA || !ca.BasicConstraintsValid || !bytes.Equal(ca.RawSubject, ca.RawIssuer) {
		return nil, errors.New("server certificate: last certificate is not a self-signed CA")
	}
	if err := ca.CheckSignatureFrom(ca); err != nil {
		return nil, fmt.Errorf("server certificate: CA is not self-signed: %w", err)
	}
	if err := verifyLeaf(chain, ca); err != nil {
		return nil, fmt.Errorf("server certificate: %w", err)
	}
	return ca, nil
}
