package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

func TestNewCA(t *testing.T) {
	ca := newTestCA(t, "c1")
	c := ca.Cert
	if c.Subject.CommonName != "parley cluster c1" {
		t.Errorf("CommonName %q", c.Subject.CommonName)
	}
	if !c.IsCA || !c.BasicConstraintsValid || c.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Errorf("not a CA: IsCA %v, key usage %v", c.IsCA, c.KeyUsage)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if life := time.Until(c.NotAfter); life < 19*365*24*time.Hour {
		t.Errorf("valid for %v only", life)
	}
	pub, ok := c.PublicKey.(*ecdsa.PublicKey)
	if !ok || pub.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", c.PublicKey)
	}
	block, _ := pem.Decode(ca.keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" {
		t.Fatalf("key PEM: %v", block)
	}
	if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
		t.Fatal(err)
	}
}

func TestLoadCARefusesMismatch(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	if _, err := LoadCA(ca1.CertPEM, ca2.keyPEM); err == nil {
		t.Error("LoadCA accepted another CA's key")
	}
	certPEM, keyPEM := ca1.node(t, "n1")
	if _, err := LoadCA(certPEM, keyPEM); err == nil {
		t.Error("LoadCA accepted a node certificate")
	}
	if _, err := LoadCA([]byte("junk"), ca1.keyPEM); err == nil {
		t.Error("LoadCA accepted junk")
	}
	if _, err := LoadCA(ca1.CertPEM, []byte("junk")); err == nil {
		t.Error("LoadCA accepted a junk key")
	}
}

func TestIssueNodeCert(t *testing.T) {
	ca := newTestCA(t, "c1")
	_, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err := ca.IssueNodeCert(pub, "pi-kitchen", []string{"10.0.0.7", "pi-kitchen.local", "10.0.0.7:7000", "[fd00::7]:7000", "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	c := parseCert(t, certPEM)
	if c.Subject.CommonName != "pi-kitchen" {
		t.Errorf("CommonName %q", c.Subject.CommonName)
	}
	var ips []string
	for _, ip := range c.IPAddresses {
		ips = append(ips, ip.String())
	}
	slices.Sort(ips)
	if want := []string{"10.0.0.7", "127.0.0.1", "::1", "fd00::7"}; !slices.Equal(ips, want) {
		t.Errorf("IP SANs %v, want %v", ips, want)
	}
	dns := slices.Sorted(slices.Values(c.DNSNames))
	if want := []string{"localhost", "pi-kitchen.local"}; !slices.Equal(dns, want) {
		t.Errorf("DNS SANs %v, want %v", dns, want)
	}
	if !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(c.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
		t.Errorf("ExtKeyUsage %v", c.ExtKeyUsage)
	}
	if c.IsCA {
		t.Error("node certificate is a CA")
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v", c.SerialNumber)
	}
	if life := time.Until(c.NotAfter); life < 9*365*24*time.Hour {
		t.Errorf("valid for %v only", life)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Cert)
	for _, usage := range []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth} {
		if _, err := c.Verify(x509.VerifyOptions{Roots: roots, DNSName: "pi-kitchen.local", KeyUsages: []x509.ExtKeyUsage{usage}}); err != nil {
			t.Errorf("verify for %v: %v", usage, err)
		}
	}
	// Two certificates never share a serial.
	again, err := ca.IssueNodeCert(pub, "pi-kitchen", nil)
	if err != nil {
		t.Fatal(err)
	}
	if parseCert(t, again).SerialNumber.Cmp(c.SerialNumber) == 0 {
		t.Error("serial reused")
	}
}

func TestIssueNodeCertRejectsBadInput(t *testing.T) {
	ca := newTestCA(t, "c1")
	_, pub, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]byte{nil, []byte("not a key"), pub[:len(pub)-3]} {
		_, err := ca.IssueNodeCert(bad, "n", nil)
		if !errors.Is(err, parley.ErrMalformed) || !strings.Contains(err.Error(), "public key") {
			t.Errorf("public key %x: %v, want a public key error wrapping ErrMalformed", bad, err)
		}
	}
	if _, err := ca.IssueNodeCert(pub, "", nil); err == nil {
		t.Error("empty node name accepted")
	}
	for _, host := range []string{"bad host", "-x.local", "ex\u00e4mple.org", "a..b"} {
		if _, err := ca.IssueNodeCert(pub, "n", []string{host}); err == nil {
			t.Errorf("host %q accepted", host)
		}
	}
}

func TestFingerprintAndParseCertPEM(t *testing.T) {
	ca := newTestCA(t, "c1")
	fp := Fingerprint(ca.Cert.Raw)
	if len(fp) != 64 || strings.ToLower(fp) != fp {
		t.Fatalf("fingerprint %q", fp)
	}
	// Other blocks before the certificate are skipped.
	withKey := append(append([]byte{}, ca.keyPEM...), ca.CertPEM...)
	c, err := ParseCertPEM(withKey)
	if err != nil {
		t.Fatal(err)
	}
	if Fingerprint(c.Raw) != fp {
		t.Fatal("parsed another certificate")
	}
	if _, err := ParseCertPEM(ca.keyPEM); err == nil {
		t.Error("no certificate, no error")
	}
	broken := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("junk")})
	if _, err := ParseCertPEM(broken); err == nil {
		t.Error("junk certificate parsed")
	}
}
