package transport

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
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
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "public key") {
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

func TestNodeTLSConfigsRefuseForeignCert(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	cert2, key2 := ca2.node(t, "n2")
	if _, err := ServerTLSConfig(cert2, key2, ca1.CertPEM); err == nil {
		t.Error("ServerTLSConfig accepted a certificate of another CA")
	}
	if _, err := NodeClientTLSConfig(cert2, key2, ca1.CertPEM); err == nil {
		t.Error("NodeClientTLSConfig accepted a certificate of another CA")
	}
	cert1, _ := ca1.node(t, "n1")
	if _, err := ServerTLSConfig(cert1, key2, ca1.CertPEM); err == nil {
		t.Error("ServerTLSConfig accepted a mismatched key")
	}
}

func TestNodeMutualTLS(t *testing.T) {
	ca1 := newTestCA(t, "one")
	ca2 := newTestCA(t, "two")
	s := startEcho(t, "127.0.0.1:0", ca1.serverTLS(t, "n1"))

	// A node of the same cluster: both sides verified.
	conn, err := dial(t, s.addr, ca1.nodeClientTLS(t, "n2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	server := acceptedConn(t, s)
	st := server.ConnectionState().TLS
	if len(st.VerifiedChains) == 0 || st.PeerCertificates[0].Subject.CommonName != "n2" {
		t.Fatalf("server did not verify the node: chains %d", len(st.VerifiedChains))
	}
	if st.NegotiatedProtocol != ALPN || st.Version != tls.VersionTLS13 {
		t.Fatalf("negotiated %q, version %#x", st.NegotiatedProtocol, st.Version)
	}

	// A user client without a certificate is accepted, unverified.
	conn, err = dial(t, s.addr, ClientTLSConfig(s.addr, ca1.Cert, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	if st := acceptedConn(t, s).ConnectionState().TLS; len(st.PeerCertificates) != 0 || len(st.VerifiedChains) != 0 {
		t.Fatal("user client has a peer certificate")
	}

	// A node of another cluster refuses this server...
	if _, err := dial(t, s.addr, ca2.nodeClientTLS(t, "x")); err == nil {
		t.Fatal("node of another cluster accepted the server")
	}
	// ...and a client presenting another cluster's certificate is refused
	// by the server.
	foreign := ClientTLSConfig(s.addr, ca1.Cert, nil)
	cert2, key2 := ca2.node(t, "x")
	kp, err := tls.X509KeyPair(cert2, key2)
	if err != nil {
		t.Fatal(err)
	}
	// The server names its CA as acceptable, so crypto/tls does not even
	// offer a certificate of another CA: the client is only an anonymous
	// user.
	foreign.Certificates = []tls.Certificate{kp}
	conn, err = dial(t, s.addr, foreign)
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	if st := acceptedConn(t, s).ConnectionState().TLS; len(st.PeerCertificates) != 0 || len(st.VerifiedChains) != 0 {
		t.Fatal("foreign certificate seen by the server")
	}
	// Forced onto the server, the foreign certificate is refused.
	foreign.Certificates = nil
	foreign.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &kp, nil }
	err = dialRefused(t, s.addr, foreign)
	var terr *quic.TransportError
	if !errors.As(err, &terr) || !terr.ErrorCode.IsCryptoError() || !terr.Remote {
		t.Fatalf("refused with %v, want a crypto error from the server", err)
	}
	t.Logf("refused: %v", err)
	select {
	case c := <-s.accepted:
		t.Fatalf("server accepted a foreign node certificate: %v", c.ConnectionState().TLS.PeerCertificates[0].Subject)
	default:
	}
}

func acceptedConn(t *testing.T, s *echoServer) *quic.Conn {
	t.Helper()
	select {
	case c := <-s.accepted:
		return c
	case <-time.After(5 * time.Second):
		t.Fatal("server accepted no connection")
		return nil
	}
}

func TestDialErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, "127.0.0.1:1", nil); err == nil {
		t.Error("nil tls config accepted")
	}
	if _, err := Dial(ctx, "no-such-host.invalid:1", FingerprintTLSConfig(strings.Repeat("0", 64))); err == nil {
		t.Error("unresolvable address accepted")
	}
	if _, err := Listen("127.0.0.1:0", nil); err == nil {
		t.Error("nil tls config accepted")
	}
}
