package pki

import (
	"crypto/x509"
	"testing"
)

// testCA is a cluster CA made for one test.
type testCA struct {
	*CA
	keyPEM []byte
}

func newTestCA(t *testing.T, clusterID string) *testCA {
	t.Helper()
	certPEM, keyPEM, err := NewCA(clusterID)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{CA: ca, keyPEM: keyPEM}
}

// node issues a fresh key and node certificate.
func (ca *testCA) node(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	keyPEM, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err = ca.IssueNodeCert(pub, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

func parseCert(t *testing.T, certPEM []byte) *x509.Certificate {
	t.Helper()
	c, err := ParseCertPEM(certPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
