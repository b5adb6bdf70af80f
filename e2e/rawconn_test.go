package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// rawConn is a QUIC connection to one node that speaks the wire protocol
// by hand, so that a test can send what no SDK would.
type rawConn struct {
	qc  *quic.Conn
	ctl *quic.Stream
	fr  *transport.FrameReader
}

// dialRaw connects to addr, pinning the cluster CA on first use in a
// known_clusters file of its own, and opens the control stream.
func dialRaw(t testing.TB, c *Cluster, addr string) *rawConn {
	t.Helper()
	known, err := transport.OpenKnownClusters(c.knownClustersPath("raw"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := opContext()
	defer cancel()
	qc, err := transport.Dial(ctx, addr, transport.ClientTLSConfig(addr, nil, known))
	if err != nil {
		t.Fatalf("raw dial: %v", err)
	}
	t.Cleanup(func() { qc.CloseWithError(0, "test done") })
	ctl, err := qc.OpenStreamSync(ctx)
	if err != nil {
		t.Fatalf("raw control stream: %v", err)
	}
	return &rawConn{qc: qc, ctl: ctl, fr: transport.NewFrameReader(ctl, transport.DefaultMaxFrame)}
}

// write writes raw bytes on the control stream.
func (r *rawConn) write(b []byte) error {
	r.ctl.SetWriteDeadline(time.Now().Add(opTimeout))
	if _, err := r.ctl.Write(b); err != nil {
		return fmt.Errorf("raw write: %w", err)
	}
	return nil
}

// writeFrame writes v as one frame.
func (r *rawConn) writeFrame(v any) error {
	r.ctl.SetWriteDeadline(time.Now().Add(opTimeout))
	return transport.WriteFrame(r.ctl, v, transport.DefaultMaxFrame)
}

// read reads the next frame into v.
func (r *rawConn) read(v any) error {
	r.ctl.SetReadDeadline(time.Now().Add(opTimeout))
	if err := r.fr.Read(v); err != nil {
		return fmt.Errorf("raw read: %w", err)
	}
	return nil
}

// hello logs in as user and fails the test unless welcomed.
func (r *rawConn) hello(t testing.TB, user string) transport.Welcome {
	t.Helper()
	if err := r.writeFrame(transport.Hello{Version: transport.ProtocolVersion, User: user, Password: password}); err != nil {
		t.Fatal(err)
	}
	var w transport.Welcome
	if err := r.read(&w); err != nil {
		t.Fatal(err)
	}
	if w.Error != nil {
		t.Fatalf("hello refused: %v", w.Error)
	}
	return w
}

// call makes one request and returns the response.
func (r *rawConn) call(t testing.TB, id uint64, op string, body any) transport.Response {
	t.Helper()
	raw, err := parley.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.writeFrame(transport.Request{ID: id, Op: op, Body: raw}); err != nil {
		t.Fatal(err)
	}
	var resp transport.Response
	if err := r.read(&resp); err != nil {
		t.Fatal(err)
	}
	if resp.ID != id {
		t.Fatalf("response to request %d carries id %d", id, resp.ID)
	}
	return resp
}

// waitClosed waits until the node has closed the connection.
func (r *rawConn) waitClosed(t testing.TB) {
	t.Helper()
	select {
	case <-r.qc.Context().Done():
		t.Logf("connection closed: %v", context.Cause(r.qc.Context()))
	case <-time.After(opTimeout):
		t.Fatalf("the node did not close the connection within %v", opTimeout)
	}
}

// frame returns body prefixed with its uvarint length.
func frame(body []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}
