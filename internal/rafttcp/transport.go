// Package rafttcp carries Raft messages and snapshots between Parley's
// nodes: a dragonboat transport (config.TransportFactory) over TCP with
// mutual TLS, on dragonboat's own wire format.
//
// It differs from dragonboat's built-in TCP transport in how it uses the
// connection, not in what it sends. Each frame leaves in one write, so in
// one TLS record, where dragonboat's writes three; an idle connection waits
// for its next frame without a timer; buffers grow with the frames that
// arrive. On a 2-core machine the built-in transport's three records were
// 42% of an idle registry leader's CPU.
package rafttcp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/raftio"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// Connection settings, dragonboat's.
const (
	dialTimeout      = 5 * time.Second
	handshakeTimeout = 10 * time.Second
	keepAlive        = 10 * time.Second
)

// name is the transport's name in dragonboat's logs.
const name = "parley-rafttcp"

// Factory creates the transport for a NodeHost: set it as
// config.NodeHostConfig.Expert.TransportFactory.
type Factory struct {
	// Logger gets the transport's own log lines; nil means slog.Default.
	Logger *slog.Logger
}

var _ config.TransportFactory = Factory{}

// Create returns the transport of a NodeHost with config cfg, which hands
// the batches and chunks it receives to onBatch and onChunk.
func (f Factory) Create(cfg config.NodeHostConfig, onBatch raftio.MessageHandler, onChunk raftio.ChunkHandler) raftio.ITransport {
	log := f.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Transport{
		cfg:     cfg,
		onBatch: onBatch,
		onChunk: onChunk,
		log:     log.With("component", "rafttcp"),
		conns:   map[net.Conn]struct{}{},
	}
}

// Validate reports whether addr is a Raft address this transport can
// dial: host:port, with a port from 1 to 65535.
func (Factory) Validate(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		return false
	}
	p, err := strconv.ParseUint(port, 10, 16)
	return err == nil && p > 0
}

// Transport is one NodeHost's transport: a listener that serves the
// connections of its peers, and the dialer of its own connections to them.
type Transport struct {
	cfg     config.NodeHostConfig
	onBatch raftio.MessageHandler
	onChunk raftio.ChunkHandler
	log     *slog.Logger

	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

var _ raftio.ITransport = (*Transport)(nil)

// Name returns the transport's name.
func (t *Transport) Name() string { return name }

// Start listens on the NodeHost's listen address and serves its peers.
func (t *Transport) Start() error {
	tlsCfg, err := t.cfg.GetServerTLSConfig()
	if err != nil {
		return fmt.Errorf("rafttcp: tls: %w", err)
	}
	lc := net.ListenConfig{KeepAlive: keepAlive}
	ln, err := lc.Listen(context.Background(), "tcp", t.cfg.GetListenAddress())
	if err != nil {
		return fmt.Errorf("rafttcp: %w", err)
	}
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		ln.Close()
		return errors.New("rafttcp: transport closed")
	}
	t.ln = ln
	t.wg.Add(1)
	t.mu.Unlock()
	go t.accept(ln)
	return nil
}

// Close stops the listener and closes every connection it accepted, then
// waits for their goroutines. The connections this side dialed are
// dragonboat's to close.
func (t *Transport) Close() error {
	t.mu.Lock()
	t.closed = true
	if t.ln != nil {
		t.ln.Close()
	}
	for c := range t.conns {
		c.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// GetConnection dials target for Raft messages.
func (t *Transport) GetConnection(ctx context.Context, target string) (raftio.IConnection, error) {
	conn, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &messageConn{conn: conn, checksum: !t.cfg.MutualTLS}, nil
}

// GetSnapshotConnection dials target for a snapshot's chunks.
func (t *Transport) GetSnapshotConnection(ctx context.Context, target string) (raftio.ISnapshotConnection, error) {
	conn, err := t.dial(ctx, target)
	if err != nil {
		return nil, err
	}
	return &snapshotConn{conn: conn, checksum: !t.cfg.MutualTLS}, nil
}

// dial connects to target and, with mutual TLS, completes the handshake.
func (t *Transport) dial(ctx context.Context, target string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: keepAlive}
	conn, err := d.DialContext(ctx, "tcp", target)
	if err != nil {
		return nil, fmt.Errorf("rafttcp: %w", err)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		// Close with a reset, as dragonboat does: a node that redials
		// after every cut leaves no TIME_WAIT behind.
		_ = tc.SetLinger(0)
	}
	tlsCfg, err := t.cfg.GetClientTLSConfig(target)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rafttcp: tls: %w", err)
	}
	if tlsCfg == nil {
		return conn, nil
	}
	tc := tls.Client(conn, tlsCfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	defer cancel()
	if err := tc.HandshakeContext(hctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("rafttcp: handshake with %s: %w", target, err)
	}
	return tc, nil
}

// accept serves each connection ln accepts until ln is closed.
func (t *Transport) accept(ln net.Listener) {
	defer t.wg.Done()
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of descriptors, say: wait, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			t.log.Warn("accept failed", "err", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		t.mu.Lock()
		if t.closed {
			t.mu.Unlock()
			conn.Close()
			return
		}
		t.conns[conn] = struct{}{}
		t.wg.Add(1)
		t.mu.Unlock()
		go t.serve(conn)
	}
}

// serve hands the frames of one accepted connection to dragonboat until
// the connection ends, breaks the wire format, or carries a chunk
// dragonboat rejects.
func (t *Transport) serve(conn net.Conn) {
	defer t.wg.Done()
	defer func() {
		conn.Close()
		t.mu.Lock()
		delete(t.conns, conn)
		t.mu.Unlock()
	}()
	if tc, ok := conn.(*tls.Conn); ok {
		ctx, cancel := context.WithTimeout(context.Background(), handshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			t.log.Debug("handshake failed", "peer", conn.RemoteAddr(), "err", err)
			return
		}
	}
	fr := frameReader{r: conn, checksum: !t.cfg.MutualTLS}
	for {
		method, body, err := fr.next()
		if errors.Is(err, errPoisoned) {
			// The sender of a snapshot is done; answer so it can close.
			if conn.SetWriteDeadline(time.Now().Add(poisonTimeout)) == nil {
				_, _ = conn.Write(poison[:])
			}
			return
		}
		if err != nil {
			t.logEnd(conn, err)
			return
		}
		if err := t.deliver(method, body); err != nil {
			t.log.Warn("connection closed", "peer", conn.RemoteAddr(), "err", err)
			return
		}
	}
}

// deliver decodes a frame's body and hands it to dragonboat.
func (t *Transport) deliver(method uint16, body []byte) error {
	if method == methodRaft {
		var batch pb.MessageBatch
		if err := batch.Unmarshal(body); err != nil {
			return fmt.Errorf("rafttcp: message batch: %w", err)
		}
		t.onBatch(batch)
		return nil
	}
	var chunk pb.Chunk
	if err := chunk.Unmarshal(body); err != nil {
		return fmt.Errorf("rafttcp: snapshot chunk: %w", err)
	}
	if !t.onChunk(chunk) {
		return fmt.Errorf("rafttcp: chunk %d of shard %d's snapshot rejected", chunk.ChunkId, chunk.ShardID)
	}
	return nil
}

// logEnd logs why a connection ended: a broken frame as a warning, a
// closed or cut connection, which is routine, at debug level.
func (t *Transport) logEnd(conn net.Conn, err error) {
	if errors.Is(err, errBadFrame) {
		t.log.Warn("bad frame, connection closed", "peer", conn.RemoteAddr(), "err", err)
		return
	}
	t.log.Debug("connection ended", "peer", conn.RemoteAddr(), "err", err)
}
