package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

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
