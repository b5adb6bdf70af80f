package rafttcp

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"

	"github.com/parleychat/parley/internal/freeport"
)

// node is one side of a transport test: a started transport and what it
// received.
type node struct {
	addr    string
	tr      *Transport
	batches chan pb.MessageBatch
	chunks  chan pb.Chunk
	accept  func(pb.Chunk) bool
}

// startNode starts a transport with mutual TLS on a free 127.0.0.1 port.
func startNode(t *testing.T, files [3]string) *node {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	n := &node{addr: addr, batches: make(chan pb.MessageBatch, 16), chunks: make(chan pb.Chunk, 16)}
	n.accept = func(pb.Chunk) bool { return true }
	cfg := withTLS(config.NodeHostConfig{RaftAddress: addr}, files)
	n.tr = Factory{}.Create(cfg, func(b pb.MessageBatch) { n.batches <- b }, func(c pb.Chunk) bool {
		if !n.accept(c) {
			return false
		}
		n.chunks <- c
		return true
	}).(*Transport)
	if err := n.tr.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.tr.Close() })
	return n
}

// startPair starts two transports with certificates of one cluster and
// returns the certificate files too.
func startPair(t *testing.T) ([][3]string, *node, *node) {
	t.Helper()
	files := tlsFiles(t, t.TempDir(), 2)
	return files, startNode(t, files[0]), startNode(t, files[1])
}

// dialRaw opens a TLS connection to addr with the node certificate of
// files, for a test to write to as a peer would.
func dialRaw(t *testing.T, files [3]string, addr string) *tls.Conn {
	t.Helper()
	cfg := withTLS(config.NodeHostConfig{}, files)
	tlsCfg, err := cfg.GetClientTLSConfig(addr)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := tls.Dial("tcp", addr, tlsCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return raw
}

// within waits up to 10 s for a value on ch.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("no %s within 10 s", what)
		panic("unreachable")
	}
}

// openConns is how many accepted connections tr is serving.
func openConns(tr *Transport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return len(tr.conns)
}

// eventually polls cond every 10 ms for up to 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not within 10 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestTransportCarriesBatchesOverTLS(t *testing.T) {
	_, a, b := startPair(t)
	conn, err := a.tr.GetConnection(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	large := bytes.Repeat([]byte("z"), 3<<20)
	for _, want := range []pb.MessageBatch{testBatch(3, []byte("one")), testBatch(1, large), testBatch(2, []byte("three"))} {
		if err := conn.SendMessageBatch(want); err != nil {
			t.Fatal(err)
		}
		got := within(t, b.batches, "batch")
		if len(got.Requests) != len(want.Requests) || !bytes.Equal(got.Requests[0].Entries[0].Cmd, want.Requests[0].Entries[0].Cmd) {
			t.Fatalf("got %d requests, want %d", len(got.Requests), len(want.Requests))
		}
	}
	// Both ways, on connections of their own.
	back, err := b.tr.GetConnection(context.Background(), a.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	if err := back.SendMessageBatch(testBatch(1, []byte("back"))); err != nil {
		t.Fatal(err)
	}
	if got := within(t, a.batches, "batch back"); string(got.Requests[0].Entries[0].Cmd) != "back" {
		t.Fatalf("got %q", got.Requests[0].Entries[0].Cmd)
	}
}

func TestSnapshotConnectionEndsWithPoison(t *testing.T) {
	files, a, b := startPair(t)
	sc, err := a.tr.GetSnapshotConnection(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range uint64(3) {
		if err := sc.SendChunk(pb.Chunk{ShardID: 5, ChunkId: i, ChunkCount: 3, Data: []byte("part")}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range uint64(3) {
		if c := within(t, b.chunks, "chunk"); c.ChunkId != i || string(c.Data) != "part" {
			t.Fatalf("chunk %d: got %d %q", i, c.ChunkId, c.Data)
		}
	}
	sc.Close()
	eventually(t, "the receiver closes the snapshot connection", func() bool { return openConns(b.tr) == 0 })

	// What a sender of dragonboat's waits for: the poison, answered.
	raw := dialRaw(t, files[0], b.addr)
	if _, err := raw.Write(poison[:]); err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	ack := make([]byte, len(poison))
	if _, err := io.ReadFull(raw, ack); err != nil || [2]byte(ack) != poison {
		t.Fatalf("poison answered with %x, %v", ack, err)
	}
}

func TestRejectedChunkClosesConnection(t *testing.T) {
	_, a, b := startPair(t)
	b.accept = func(c pb.Chunk) bool { return c.ChunkId == 0 }
	sc, err := a.tr.GetSnapshotConnection(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	for i := range uint64(2) {
		if err := sc.SendChunk(pb.Chunk{ShardID: 5, ChunkId: i, ChunkCount: 2, Data: []byte("part")}); err != nil {
			t.Fatal(err)
		}
	}
	within(t, b.chunks, "the accepted chunk")
	eventually(t, "the receiver drops the connection of a rejected chunk", func() bool { return openConns(b.tr) == 0 })
	select {
	case c := <-b.chunks:
		t.Fatalf("chunk %d delivered after a rejected one", c.ChunkId)
	default:
	}
}

// TestBadPeersAreRefused: a client without the cluster's certificate gets
// no further than the handshake; a frame that breaks the format closes its
// connection; the transport goes on serving good peers.
func TestBadPeersAreRefused(t *testing.T) {
	files, a, b := startPair(t)

	stranger, err := tls.Dial("tcp", b.addr, &tls.Config{InsecureSkipVerify: true})
	if err == nil {
		// TLS 1.3 reports a refused client certificate on the first read.
		stranger.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err = stranger.Read(make([]byte, 1))
		stranger.Close()
	}
	var ne net.Error
	if err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a client without a certificate was served (%v)", err)
	}

	raw := dialRaw(t, files[0], b.addr)
	if _, err := raw.Write([]byte("GET / HTTP/1.1\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := raw.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("a connection with a bad magic number stayed open (%v)", err)
	}

	conn, err := a.tr.GetConnection(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SendMessageBatch(testBatch(1, []byte("still here"))); err != nil {
		t.Fatal(err)
	}
	within(t, b.batches, "a good peer's batch")
}

func TestCloseEndsEverything(t *testing.T) {
	_, a, b := startPair(t)
	conn, err := a.tr.GetConnection(context.Background(), b.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SendMessageBatch(testBatch(1, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	within(t, b.batches, "batch")
	b.tr.Close() // returns only when its goroutines have ended
	if n := openConns(b.tr); n != 0 {
		t.Fatalf("%d connections open after Close", n)
	}
	if _, err := a.tr.GetConnection(context.Background(), b.addr); err == nil {
		t.Fatal("dialed a closed transport")
	}
}

func TestValidate(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:7001": true, "node-1.lan:63001": true, "[::1]:1": true,
		"127.0.0.1": false, ":7001": false, "host:0": false, "host:65536": false, "host:x": false, "": false,
	} {
		if got := (Factory{}).Validate(addr); got != want {
			t.Errorf("Validate(%q) = %v, want %v", addr, got, want)
		}
	}
}
