package transport

import (
	"crypto/tls"
	"net"
	"testing"
	"time"
)

func TestQUICConfig(t *testing.T) {
	c := QUICConfig()
	if c.KeepAlivePeriod != 2*time.Second || c.MaxIdleTimeout != 6*time.Second || c.HandshakeIdleTimeout != 5*time.Second ||
		c.MaxIncomingStreams != 256 || c.MaxIncomingUniStreams != 1024 {
		t.Fatalf("QUICConfig = %+v", c)
	}
	if QUICConfig() == c {
		t.Fatal("QUICConfig shares its result")
	}
}

func TestListenAndDialForceALPNAndTLS13(t *testing.T) {
	ca := newTestCA(t, "c1")
	server := ca.serverTLS(t, "n1")
	server.NextProtos = nil
	server.MinVersion = tls.VersionTLS12
	s := startEcho(t, "127.0.0.1:0", server)

	client := ClientTLSConfig(s.addr, ca.Cert, nil)
	client.NextProtos = []string{"h3"}
	client.MaxVersion = tls.VersionTLS12
	conn, err := dial(t, s.addr, client)
	if err != nil {
		t.Fatal(err)
	}
	st := conn.ConnectionState().TLS
	if st.NegotiatedProtocol != ALPN || st.Version != tls.VersionTLS13 {
		t.Fatalf("negotiated %q, version %#x", st.NegotiatedProtocol, st.Version)
	}
	if client.NextProtos[0] != "h3" || server.NextProtos != nil {
		t.Fatal("caller's tls.Config modified")
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
}

func TestListenPacket(t *testing.T) {
	ca := newTestCA(t, "c1")
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ln, err := ListenPacket(pc, ca.serverTLS(t, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if ln.Addr().String() != pc.LocalAddr().String() {
		t.Fatalf("listening on %v, want %v", ln.Addr(), pc.LocalAddr())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if conn, err := ln.Accept(t.Context()); err == nil {
			echoConn(conn)
		}
	}()
	conn, err := dial(t, pc.LocalAddr().String(), ClientTLSConfig("x", ca.Cert, nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := roundTrip(t.Context(), conn); err != nil {
		t.Fatal(err)
	}
	conn.CloseWithError(0, "")
	<-done
}
