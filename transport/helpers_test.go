package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley/pki"
	"github.com/quic-go/quic-go"
)

// testCA is a cluster CA made for one test.
type testCA struct {
	*pki.CA
	keyPEM []byte
}

func newTestCA(t *testing.T, clusterID string) *testCA {
	t.Helper()
	certPEM, keyPEM, err := pki.NewCA(clusterID)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.LoadCA(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{CA: ca, keyPEM: keyPEM}
}

// node issues a fresh key and node certificate.
func (ca *testCA) node(t *testing.T, name string) (certPEM, keyPEM []byte) {
	t.Helper()
	keyPEM, pub, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	certPEM, err = ca.IssueNodeCert(pub, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	return certPEM, keyPEM
}

// serverTLS is the listener config of a node of this CA.
func (ca *testCA) serverTLS(t *testing.T, name string) *tls.Config {
	t.Helper()
	certPEM, keyPEM := ca.node(t, name)
	conf, err := ServerTLSConfig(certPEM, keyPEM, ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// nodeClientTLS is the dialer config of a node of this CA.
func (ca *testCA) nodeClientTLS(t *testing.T, name string) *tls.Config {
	t.Helper()
	certPEM, keyPEM := ca.node(t, name)
	conf, err := NodeClientTLSConfig(certPEM, keyPEM, ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return conf
}

// echoServer is a QUIC listener on 127.0.0.1 that echoes every
// bidirectional stream and reports each accepted connection.
type echoServer struct {
	ln       *quic.Listener
	addr     string
	accepted chan *quic.Conn
}

// startEcho listens on addr ("127.0.0.1:0" for a fresh port) until the test
// ends.
func startEcho(t *testing.T, addr string, conf *tls.Config) *echoServer {
	t.Helper()
	ln, err := Listen(addr, conf)
	if err != nil {
		t.Fatal(err)
	}
	s := &echoServer{ln: ln, addr: ln.Addr().String(), accepted: make(chan *quic.Conn, 16)}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			conn, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			select {
			case s.accepted <- conn:
			default:
			}
			wg.Go(func() { echoConn(conn) })
		}
	})
	t.Cleanup(func() {
		s.close()
		wg.Wait()
	})
	return s
}

// close stops the listener and closes its connections; the port is free
// afterwards.
func (s *echoServer) close() { s.ln.Close() }

func echoConn(conn *quic.Conn) {
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		str, err := conn.AcceptStream(context.Background())
		if err != nil {
			return
		}
		wg.Go(func() {
			io.Copy(str, str)
			str.Close()
		})
	}
}

// dial connects with a short deadline and closes the connection when the
// test ends.
func dial(t *testing.T, addr string, conf *tls.Config) (*quic.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := Dial(ctx, addr, conf)
	if err == nil {
		t.Cleanup(func() { conn.CloseWithError(0, "") })
	}
	return conn, err
}

// dialRefused asserts that the handshake to addr fails, either in Dial or,
// when the server refuses the client's certificate after the client already
// finished its side of the TLS 1.3 handshake, by the connection closing
// before a stream round trip completes. It returns the error seen.
func dialRefused(t *testing.T, addr string, conf *tls.Config) error {
	t.Helper()
	conn, err := dial(t, addr, conf)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := roundTrip(ctx, conn); err == nil {
		t.Fatal("connection with a refused certificate carried a stream round trip")
	} else if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("connection was not closed by the server: %v", err)
	}
	<-conn.Context().Done()
	return context.Cause(conn.Context())
}

// roundTrip sends one frame on a new stream and reads the echo.
func roundTrip(ctx context.Context, conn *quic.Conn) error {
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		str.SetDeadline(d)
	}
	if err := WriteFrame(str, Hello{Version: ProtocolVersion}, DefaultMaxFrame); err != nil {
		return err
	}
	str.Close()
	var h Hello
	return NewFrameReader(str, DefaultMaxFrame).Read(&h)
}
