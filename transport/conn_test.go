package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/pki"
	"github.com/quic-go/quic-go"
)

// These tests run Conn against a small real QUIC server on 127.0.0.1 that
// speaks the control-stream protocol: hello and welcome, then requests
// answered by a handler the test gives.

// echoBody is the request and response body of the test server's ops.
type echoBody struct {
	N    int    `cbor:"1,keyasint"`
	Text string `cbor:"2,keyasint,omitempty"`
}

// protoServer is the test server's view of one connection.
type protoServer struct {
	qc  *quic.Conn
	ctl *quic.Stream
	wmu sync.Mutex
}

// respond writes one response frame.
func (ps *protoServer) respond(t *testing.T, r Response) {
	ps.wmu.Lock()
	defer ps.wmu.Unlock()
	if err := WriteFrame(ps.ctl, r, DefaultMaxFrame); err != nil {
		t.Logf("test server: respond: %v", err)
	}
}

// answer writes a response to req carrying body.
func (ps *protoServer) answer(t *testing.T, req Request, body any) {
	raw, err := parley.Marshal(body)
	if err != nil {
		t.Error(err)
		return
	}
	ps.respond(t, Response{ID: req.ID, Body: raw})
}

// serveProto listens until the test ends. welcome answers each hello;
// handle is called, one request after another, with each request.
func serveProto(t *testing.T, welcome func(Hello) Welcome, handle func(*protoServer, Request)) (addr string, tls Trust) {
	t.Helper()
	ca := newTestCA(t, "proto")
	ln, err := Listen("127.0.0.1:0", ca.serverTLS(t, "n1"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			qc, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			wg.Go(func() { serveProtoConn(t, qc, welcome, handle) })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	cert, err := pki.ParseCertPEM(ca.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	return ln.Addr().String(), Trust{CA: cert}
}

func serveProtoConn(t *testing.T, qc *quic.Conn, welcome func(Hello) Welcome, handle func(*protoServer, Request)) {
	defer qc.CloseWithError(0, "")
	ctl, err := qc.AcceptStream(context.Background())
	if err != nil {
		return
	}
	fr := NewFrameReader(ctl, DefaultMaxFrame)
	var h Hello
	if err := fr.Read(&h); err != nil {
		t.Logf("test server: hello: %v", err)
		return
	}
	w := welcome(h)
	if err := WriteFrame(ctl, w, DefaultMaxFrame); err != nil {
		return
	}
	if w.Error != nil {
		// Closing now could lose the welcome: let the client close.
		ctl.Close()
		<-qc.Context().Done()
		return
	}
	ps := &protoServer{qc: qc, ctl: ctl}
	for {
		var r Request
		if err := fr.Read(&r); err != nil {
			return
		}
		handle(ps, r)
	}
}

// welcomeAll welcomes every hello as node 7.
func welcomeAll(Hello) Welcome { return Welcome{ClusterID: "c1", NodeID: 7} }

// connect connects to addr and closes the connection when the test ends.
func connect(t *testing.T, addr string, trust Trust) (*Conn, Welcome) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, w, err := Connect(ctx, addr, ConnectOptions{TLS: trust.TLSConfig(addr), Hello: Hello{User: "alice", Password: "pw"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, w
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestConnectHelloRefused(t *testing.T) {
	var got Hello
	var mu sync.Mutex
	addr, trust := serveProto(t, func(h Hello) Welcome {
		mu.Lock()
		got = h
		mu.Unlock()
		return Welcome{Error: Errorf(CodeUnauthorized, "wrong password")}
	}, nil)
	c, _, err := Connect(testCtx(t), addr, ConnectOptions{TLS: trust.TLSConfig(addr), Hello: Hello{User: "alice", Password: "nope"}})
	if err == nil {
		c.Close()
		t.Fatal("refused hello: no error")
	}
	var te *Error
	if !errors.As(err, &te) || te.Code != CodeUnauthorized || !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("refused hello: %v, want an unauthorized *Error", err)
	}
	if !strings.Contains(err.Error(), "hello "+addr) {
		t.Fatalf("refused hello: %q does not name the address", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != (Hello{Version: ProtocolVersion, User: "alice", Password: "nope"}) {
		t.Fatalf("server read hello %+v", got)
	}
}

func TestConnectWrongCA(t *testing.T) {
	addr, _ := serveProto(t, welcomeAll, nil)
	other := newTestCA(t, "other")
	cert, err := pki.ParseCertPEM(other.CertPEM)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Connect(testCtx(t), addr, ConnectOptions{TLS: Trust{CA: cert}.TLSConfig(addr)})
	if !errors.Is(err, ErrUnknownCA) {
		t.Fatalf("server of another CA: %v, want ErrUnknownCA", err)
	}
}

// echoOrRefuse echoes "echo", refuses "refuse" as not found, and answers
// "empty" with no body.
func echoOrRefuse(t *testing.T) func(*protoServer, Request) {
	return func(ps *protoServer, r Request) {
		switch r.Op {
		case "echo":
			var b echoBody
			if err := parley.Unmarshal(r.Body, &b); err != nil {
				ps.respond(t, Response{ID: r.ID, Error: Errorf(CodeInvalid, "%v", err)})
				return
			}
			b.Text = strings.ToUpper(b.Text)
			ps.answer(t, r, b)
		case "empty":
			ps.respond(t, Response{ID: r.ID})
		default:
			ps.respond(t, Response{ID: r.ID, Error: Errorf(CodeNotFound, "no op %q", r.Op)})
		}
	}
}

func TestCallRoundTrip(t *testing.T) {
	addr, trust := serveProto(t, welcomeAll, echoOrRefuse(t))
	c, w := connect(t, addr, trust)
	if w.NodeID != 7 || w.ClusterID != "c1" {
		t.Fatalf("welcome %+v", w)
	}
	ctx := testCtx(t)
	var resp echoBody
	if err := c.Call(ctx, "echo", echoBody{N: 3, Text: "hi"}, &resp); err != nil {
		t.Fatal(err)
	}
	if resp != (echoBody{N: 3, Text: "HI"}) {
		t.Fatalf("response %+v", resp)
	}
	if err := c.Call(ctx, "empty", echoBody{}, nil); err != nil {
		t.Fatalf("call with no response body: %v", err)
	}
	err := c.Call(ctx, "nope", echoBody{}, &resp)
	if CodeOf(err) != CodeNotFound || !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("refused call: %v, want not_found", err)
	}
	// A request over the frame limit is refused before it is written; the
	// connection carries on.
	err = c.Call(ctx, "echo", echoBody{Text: strings.Repeat("x", DefaultMaxFrame)}, &resp)
	if CodeOf(err) != CodeTooLarge {
		t.Fatalf("request over the frame limit: %v, want too_large", err)
	}
	if err := c.Call(ctx, "echo", echoBody{N: 4}, &resp); err != nil || resp.N != 4 {
		t.Fatalf("call after the refused one: %+v, %v", resp, err)
	}
	// A body that is not what the caller expects is a clear error.
	var wrong []string
	if err := c.Call(ctx, "echo", echoBody{N: 5}, &wrong); err == nil || !strings.Contains(err.Error(), "response") {
		t.Fatalf("response into the wrong type: %v", err)
	}
	select {
	case <-c.Done():
		t.Fatalf("connection ended: %v", c.Err())
	default:
	}
}

// TestConcurrentCalls: the server answers a batch of requests in the
// reverse of the order it read them; every caller gets its own answer.
func TestConcurrentCalls(t *testing.T) {
	const n = 32
	var batch []Request
	addr, trust := serveProto(t, welcomeAll, func(ps *protoServer, r Request) {
		batch = append(batch, r)
		if len(batch) < n {
			return
		}
		for i := len(batch) - 1; i >= 0; i-- {
			var b echoBody
			if err := parley.Unmarshal(batch[i].Body, &b); err != nil {
				t.Error(err)
			}
			ps.answer(t, batch[i], echoBody{N: b.N * 10})
		}
		batch = nil
	})
	c, _ := connect(t, addr, trust)
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			var resp echoBody
			if err := c.Call(ctx, "echo", echoBody{N: i}, &resp); err != nil {
				errs <- err
			} else if resp.N != i*10 {
				errs <- fmt.Errorf("call %d got %d", i, resp.N)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestCallContextEnds: a call whose context ends returns at once; the late
// response is dropped and the next call gets its own.
func TestCallContextEnds(t *testing.T) {
	release := make(chan struct{})
	addr, trust := serveProto(t, welcomeAll, func(ps *protoServer, r Request) {
		if r.Op == "slow" {
			go func() {
				<-release
				ps.answer(t, r, echoBody{N: -1})
			}()
			return
		}
		echoOrRefuse(t)(ps, r)
	})
	c, _ := connect(t, addr, trust)
	ctx, cancel := context.WithCancel(testCtx(t))
	done := make(chan error, 1)
	go func() { done <- c.Call(ctx, "slow", echoBody{}, &echoBody{}) }()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
	close(release)
	var resp echoBody
	if err := c.Call(testCtx(t), "echo", echoBody{N: 9}, &resp); err != nil || resp.N != 9 {
		t.Fatalf("call after a cancelled one: %+v, %v", resp, err)
	}
}

// TestServerStream: the server opens a stream for the id a request names;
// it reaches the wait registered for that id, even when it arrives before
// the response, and a stream nobody waits for is cancelled.
func TestServerStream(t *testing.T) {
	cancelled := make(chan error, 1)
	addr, trust := serveProto(t, welcomeAll, func(ps *protoServer, r Request) {
		var b echoBody
		if err := parley.Unmarshal(r.Body, &b); err != nil {
			t.Error(err)
			return
		}
		s, err := ps.qc.OpenUniStreamSync(context.Background())
		if err != nil {
			t.Error(err)
			return
		}
		if err := WriteFrame(s, SubscribeHeader{Sub: uint64(b.N)}, DefaultMaxFrame); err != nil {
			t.Error(err)
			return
		}
		if r.Op == "stray" {
			// Nobody waits: the client cancels, and writes fail at last.
			go func() {
				for {
					if err := WriteFrame(s, echoBody{N: 1}, DefaultMaxFrame); err != nil {
						cancelled <- err
						return
					}
				}
			}()
			ps.respond(t, Response{ID: r.ID})
			return
		}
		for i := 1; i <= 3; i++ {
			if err := WriteFrame(s, echoBody{N: i}, DefaultMaxFrame); err != nil {
				t.Error(err)
			}
		}
		s.Close()
		ps.respond(t, Response{ID: r.ID})
	})
	c, _ := connect(t, addr, trust)
	ctx := testCtx(t)
	w, err := c.ExpectStream(5)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx, "stream", echoBody{N: 5}, nil); err != nil {
		t.Fatal(err)
	}
	st, err := w.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		var b echoBody
		if err := st.Frames().Read(&b); err != nil || b.N != i {
			t.Fatalf("frame %d: %+v, %v", i, b, err)
		}
	}
	var b echoBody
	if err := st.Frames().Read(&b); err == nil {
		t.Fatalf("read past the stream's end: %+v", b)
	}

	if err := c.Call(ctx, "stray", echoBody{N: 6}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-cancelled:
		var se *quic.StreamError
		if !errors.As(err, &se) {
			t.Fatalf("writes to a stray stream failed with %v, want a stream error", err)
		}
	case <-ctx.Done():
		t.Fatal("a stream nobody waits for was not cancelled")
	}
}

// TestConnLostFailsPendingCalls: when the node goes away, every call in
// flight and every stream wait fails with ErrConnLost, and so does every
// later call.
func TestConnLostFailsPendingCalls(t *testing.T) {
	const n = 8
	var got int
	addr, trust := serveProto(t, welcomeAll, func(ps *protoServer, r Request) {
		got++
		if got == n {
			ps.qc.CloseWithError(1, "going away")
		}
	})
	closed := make(chan error, 1)
	ctx := testCtx(t)
	c, _, err := Connect(ctx, addr, ConnectOptions{TLS: trust.TLSConfig(addr), OnClose: func(err error) { closed <- err }})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	w, err := c.ExpectStream(1)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, n+1)
	for i := range n {
		wg.Go(func() { errs <- c.Call(ctx, "hang", echoBody{N: i}, nil) })
	}
	wg.Go(func() {
		_, err := w.Wait(ctx)
		errs <- err
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, ErrConnLost) || !strings.Contains(err.Error(), addr) {
			t.Errorf("pending call: %v, want ErrConnLost naming %s", err, addr)
		}
	}
	<-c.Done()
	if c.Err() == nil {
		t.Fatal("ended connection without a reason")
	}
	if err := <-closed; err == nil || err != c.Err() {
		t.Fatalf("OnClose told %v, Err says %v", err, c.Err())
	}
	if err := c.Call(ctx, "echo", echoBody{}, nil); !errors.Is(err, ErrConnLost) {
		t.Fatalf("call on an ended connection: %v", err)
	}
	if _, err := c.ExpectStream(2); !errors.Is(err, ErrConnLost) {
		t.Fatalf("stream wait on an ended connection: %v", err)
	}
}

// TestCloseFailsPendingCalls: Close ends the calls in flight with
// ErrConnLost and ErrConnClosed.
func TestCloseFailsPendingCalls(t *testing.T) {
	read := make(chan struct{}, 1)
	addr, trust := serveProto(t, welcomeAll, func(*protoServer, Request) { read <- struct{}{} })
	c, _ := connect(t, addr, trust)
	ctx := testCtx(t)
	errc := make(chan error, 1)
	go func() { errc <- c.Call(ctx, "hang", echoBody{}, nil) }()
	select {
	case <-read: // the call is in flight
	case <-ctx.Done():
		t.Fatal("the server never read the request")
	}
	c.Close()
	if err := <-errc; !errors.Is(err, ErrConnLost) || !errors.Is(err, ErrConnClosed) {
		t.Fatalf("call cut by Close: %v", err)
	}
}
