package transport

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	"github.com/quic-go/quic-go"
)

// ALPN is the application protocol Parley negotiates on every QUIC
// connection.
const ALPN = "parley/1"

// QUICConfig returns the quic-go configuration Parley uses on both sides.
// Keep-alives every 2 s and a 6 s idle timeout make a dead peer noticed
// within seconds; a peer may open up to 256 bidirectional and 1024
// unidirectional (subscription) streams at once.
//
// The idle timeout is the backstop, not the fast path: the client SDK
// notices a dead node within a fraction of a second with OpPing (see
// client.Options.ProbeInterval). It stays this long because it is all a
// node has to notice a client gone without a word (its presence and its
// subscriptions end then), and because a shorter one would close healthy
// connections over a link that loses a few keep-alives in a row.
func QUICConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:  5 * time.Second,
		MaxIdleTimeout:        6 * time.Second,
		KeepAlivePeriod:       2 * time.Second,
		MaxIncomingStreams:    256,
		MaxIncomingUniStreams: 1024,
	}
}

// Listen listens for QUIC connections on the UDP address addr ("127.0.0.1:0"
// picks a free port; see Listener.Addr). It uses a clone of tlsConf with the
// Parley ALPN and TLS 1.3 forced.
func Listen(addr string, tlsConf *tls.Config) (*quic.Listener, error) {
	conf, err := forceParleyTLS(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	ln, err := quic.ListenAddr(addr, conf, QUICConfig())
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	return ln, nil
}

// Dial opens a QUIC connection to addr using a clone of tlsConf with the
// Parley ALPN and TLS 1.3 forced. The connection owns its UDP socket and
// closes it when it ends.
//
// An error from the tls.Config's own verification callbacks (such as
// ErrCAChanged or ErrUnknownCA from ClientTLSConfig) stays in the chain of
// the returned error, so errors.Is works on it.
func Dial(ctx context.Context, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	conf, err := forceParleyTLS(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	// Resolve first: quic.DialAddr leaks its UDP socket when resolution
	// fails.
	if _, err := net.ResolveUDPAddr("udp", addr); err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	conn, err := quic.DialAddr(ctx, addr, conf, QUICConfig())
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return conn, nil
}

// DialWith is Dial over pc, a packet conn the caller provides (in tests,
// one that can be made to lose packets). The connection owns pc: pc is
// closed when the connection ends, or at once if the dial fails.
func DialWith(ctx context.Context, pc net.PacketConn, addr string, tlsConf *tls.Config) (*quic.Conn, error) {
	conf, err := forceParleyTLS(tlsConf)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	ua, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		pc.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	tr := &quic.Transport{Conn: pc}
	conn, err := tr.Dial(ctx, ua, conf, QUICConfig())
	if err != nil {
		tr.Close()
		pc.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	context.AfterFunc(conn.Context(), func() {
		tr.Close()
		pc.Close()
	})
	return conn, nil
}

// forceParleyTLS returns a clone of c that negotiates only ALPN and TLS 1.3.
func forceParleyTLS(c *tls.Config) (*tls.Config, error) {
	if c == nil {
		return nil, errors.New("tls: no config")
	}
	c = c.Clone()
	c.NextProtos = []string{ALPN}
	c.MinVersion = tls.VersionTLS13
	if c.MaxVersion != 0 && c.MaxVersion < tls.VersionTLS13 {
		c.MaxVersion = 0
	}
	return c, nil
}

// ListenPacket serves QUIC on an already bound packet conn, so a caller can
// learn a port the OS picked before its TLS material exists. The listener
// takes over the conn but does not close it: close both.
func ListenPacket(pc net.PacketConn, tlsConf *tls.Config) (*quic.Listener, error) {
	conf, err := forceParleyTLS(tlsConf)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", pc.LocalAddr(), err)
	}
	ln, err := quic.Listen(pc, conf, QUICConfig())
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", pc.LocalAddr(), err)
	}
	return ln, nil
}
