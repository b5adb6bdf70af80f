package daemon

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// startServer runs a one-node cluster in-process on loopback ports the OS
// picks (the Raft port is probed free first: dragonboat needs it fixed).
func startServer(t *testing.T, mutate ...func(*Config)) *Server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	raft := l.Addr().String()
	l.Close()
	cfg := Config{
		DataDir: filepath.Join(t.TempDir(), "n1"), Name: "n1",
		Listen: "127.0.0.1:0", Raft: raft, HTTP: "127.0.0.1:0", Advertise: "127.0.0.1",
		Shards: 2, Profile: "small",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// rawConn is a protocol-level client for feeding a server bad input.
type rawConn struct {
	t      *testing.T
	conn   *quic.Conn
	stream *quic.Stream
	r      *transport.FrameReader
}

func dialRaw(t *testing.T, srv *Server, hello transport.Hello) (*rawConn, transport.Welcome) {
	t.Helper()
	return dialRawFirst(t, srv, hello)
}

// dialRawFirst is dialRaw with any first frame in place of the hello.
func dialRawFirst(t *testing.T, srv *Server, first any) (*rawConn, transport.Welcome) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	known, err := transport.OpenKnownClusters(filepath.Join(t.TempDir(), "known_clusters"))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := transport.Dial(ctx, srv.ClientAddr(), transport.ClientTLSConfig(srv.ClientAddr(), nil, known))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{t: t, conn: conn, stream: stream, r: transport.NewFrameReader(stream, transport.DefaultMaxFrame)}
	rc.write(first)
	var w transport.Welcome
	if err := rc.r.Read(&w); err != nil {
		t.Fatalf("welcome: %v", err)
	}
	return rc, w
}

func (rc *rawConn) write(v any) {
	rc.t.Helper()
	if err := transport.WriteFrame(rc.stream, v, transport.DefaultMaxFrame); err != nil {
		rc.t.Fatal(err)
	}
}

func (rc *rawConn) call(id uint64, op string, body any) transport.Response {
	rc.t.Helper()
	raw, err := parley.Marshal(body)
	if err != nil {
		rc.t.Fatal(err)
	}
	rc.write(transport.Request{ID: id, Op: op, Body: raw})
	return rc.read()
}

func (rc *rawConn) read() transport.Response {
	rc.t.Helper()
	rc.stream.SetReadDeadline(time.Now().Add(30 * time.Second))
	var resp transport.Response
	if err := rc.r.Read(&resp); err != nil {
		rc.t.Fatalf("response: %v", err)
	}
	return resp
}

// waitClosed fails unless the server closes the connection.
func (rc *rawConn) waitClosed() {
	rc.t.Helper()
	select {
	case <-rc.conn.Context().Done():
	case <-time.After(10 * time.Second):
		rc.t.Fatal("connection still open")
	}
}

var alice = transport.Hello{Version: transport.ProtocolVersion, User: "alice", Password: "pw"}

func lastSeq(t *testing.T, rc *rawConn, room string) uint64 {
	t.Helper()
	resp := rc.call(99, transport.OpHistory, transport.HistoryRequest{Room: room, Last: 1})
	if resp.Error != nil {
		t.Fatalf("history: %v", resp.Error)
	}
	var h transport.HistoryResponse
	if err := parley.Unmarshal(resp.Body, &h); err != nil {
		t.Fatal(err)
	}
	return h.LastSeq
}

func TestSendAndHistoryOverQUIC(t *testing.T) {
	srv := startServer(t)
	rc, w := dialRaw(t, srv, alice)
	if w.Error != nil || w.Token == "" || len(w.Nodes) != 1 || w.Nodes[0].Addr != srv.ClientAddr() {
		t.Fatalf("welcome: %+v", w)
	}
	id := parley.NewMsgID(time.Now())
	for i := 0; i < 2; i++ { // the second is a retry: same id, same seq
		resp := rc.call(uint64(i+1), transport.OpSend, transport.SendRequest{Room: "general", ID: id, Text: "hello"})
		var sr transport.SendResponse
		if resp.Error != nil || parley.Unmarshal(resp.Body, &sr) != nil || sr.Seq != 1 || sr.Duplicate != (i == 1) {
			t.Fatalf("send %d: %+v %+v", i, resp.Error, sr)
		}
	}
	if got := lastSeq(t, rc, "general"); got != 1 {
		t.Fatalf("last seq %d, want 1", got)
	}
	// The session token logs in without the password.
	rc2, w2 := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion, User: "alice", Token: w.Token})
	if w2.Error != nil || lastSeq(t, rc2, "general") != 1 {
		t.Fatalf("token login: %+v", w2.Error)
	}
}

func TestOversizedFrameIsRefusedAndClosed(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	rc.call(1, transport.OpSend, transport.SendRequest{Room: "r", ID: parley.NewMsgID(time.Now()), Text: "before"})
	var buf [binary.MaxVarintLen64]byte
	n := binary.PutUvarint(buf[:], 2<<20)
	if _, err := rc.stream.Write(append(buf[:n], "xxxx"...)); err != nil {
		t.Fatal(err)
	}
	resp := rc.read()
	if resp.Error == nil || resp.Error.Code != transport.CodeTooLarge {
		t.Fatalf("want too_large, got %+v", resp.Error)
	}
	rc.waitClosed()
	rc2, _ := dialRaw(t, srv, alice)
	if got := lastSeq(t, rc2, "r"); got != 1 {
		t.Fatalf("last seq %d after bad frame, want 1", got)
	}
}

func TestMalformedCBORIsRefusedAndClosed(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	// A frame of 3 bytes that is not one CBOR item (a map header with
	// missing entries).
	if _, err := rc.stream.Write([]byte{3, 0xa5, 0x01, 0x02}); err != nil {
		t.Fatal(err)
	}
	resp := rc.read()
	if resp.Error == nil || resp.Error.Code != transport.CodeInvalid {
		t.Fatalf("want invalid, got %+v", resp.Error)
	}
	rc.waitClosed()
}

func TestBadRequestsKeepTheSession(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	long := strings.Repeat("x", 65)
	cases := []struct {
		op   string
		body any
		code transport.Code
	}{
		{"frobnicate", struct{}{}, transport.CodeInvalid},
		{transport.OpSend, "not a send request", transport.CodeInvalid},
		{transport.OpSend, transport.SendRequest{Room: "", ID: parley.NewMsgID(time.Now()), Text: "x"}, transport.CodeInvalid},
		{transport.OpSend, transport.SendRequest{Room: long, ID: parley.NewMsgID(time.Now()), Text: "x"}, transport.CodeInvalid},
		{transport.OpSend, transport.SendRequest{Room: "No Caps", ID: parley.NewMsgID(time.Now()), Text: "x"}, transport.CodeInvalid},
		{transport.OpSend, transport.SendRequest{Room: "r", Text: "zero id"}, transport.CodeInvalid},
		{transport.OpSend, transport.SendRequest{Room: "r", ID: parley.NewMsgID(time.Now()), Text: strings.Repeat("y", 16<<10+1)}, transport.CodeTooLarge},
		{transport.OpHistory, transport.HistoryRequest{Room: "bad room"}, transport.CodeInvalid},
		{transport.OpSubscribe, transport.SubscribeRequest{Room: ""}, transport.CodeInvalid},
		{transport.OpAdmit, transport.AdmitRequest{Token: "nope.0123456789abcdef0123456789abcdef"}, transport.CodeUnauthorized},
	}
	for i, c := range cases {
		resp := rc.call(uint64(i+1), c.op, c.body)
		if resp.ID != uint64(i+1) || resp.Error == nil || resp.Error.Code != c.code {
			t.Errorf("%s %v: want %s, got id %d %+v", c.op, c.body, c.code, resp.ID, resp.Error)
		}
	}
	if got := lastSeq(t, rc, "r"); got != 0 {
		t.Fatalf("room r has %d messages after bad sends", got)
	}
	st, err := srv.Node().Status(context.Background())
	if err != nil || len(st.Nodes) != 1 {
		t.Fatalf("nodes after bad join: %v %v", st.Nodes, err)
	}
}

func TestWrongPasswordIsRefused(t *testing.T) {
	srv := startServer(t)
	rc, w := dialRaw(t, srv, alice)
	if w.Error != nil {
		t.Fatal(w.Error)
	}
	rc.conn.CloseWithError(0, "")
	rc2, w2 := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion, User: "alice", Password: "guess"})
	if w2.Error == nil || w2.Error.Code != transport.CodeUnauthorized {
		t.Fatalf("want unauthorized, got %+v", w2.Error)
	}
	rc2.waitClosed()
	_, w3 := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion, User: "alice", Token: "forged.token"})
	if w3.Error == nil || w3.Error.Code != transport.CodeUnauthorized {
		t.Fatalf("forged token: want unauthorized, got %+v", w3.Error)
	}
}

func TestAnonymousSessionMayOnlyJoin(t *testing.T) {
	srv := startServer(t)
	rc, w := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion})
	if w.Error != nil || w.Token != "" {
		t.Fatalf("anonymous welcome: %+v", w)
	}
	resp := rc.call(1, transport.OpSend, transport.SendRequest{Room: "r", ID: parley.NewMsgID(time.Now()), Text: "x"})
	if resp.Error == nil || resp.Error.Code != transport.CodeUnauthorized {
		t.Fatalf("anonymous send: %+v", resp.Error)
	}
}

func TestRateLimit(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.RequestsPerSecond = 5 })
	rc, _ := dialRaw(t, srv, alice)
	limited := 0
	for i := 1; i <= 40; i++ {
		raw, _ := parley.Marshal(struct{}{})
		rc.write(transport.Request{ID: uint64(i), Op: "unknown", Body: raw})
	}
	for i := 1; i <= 40; i++ {
		if resp := rc.read(); resp.Error != nil && resp.Error.Code == transport.CodeRateLimited {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 requests at once with a limit of 5/s: none was rate limited")
	}
}

func TestWrongJoinTokenChangesNothing(t *testing.T) {
	srv := startServer(t)
	token, err := os.ReadFile(JoinTokenFile(srv.cfg.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	fp, err := pki.TokenFingerprint(strings.TrimSpace(string(token)))
	if err != nil {
		t.Fatal(err)
	}
	_, pub, _ := pki.NewKey()
	req := transport.AdmitRequest{Token: "wrongsecret." + fp, Name: "n9", RaftAddr: "127.0.0.1:1", ClientAddr: "127.0.0.1:2", PublicKey: pub}
	var resp transport.AdmitResponse
	err = callAnonymous(context.Background(), srv.ClientAddr(), transport.FingerprintTLSConfig(fp), transport.OpAdmit, req, &resp)
	if transport.CodeOf(err) != transport.CodeUnauthorized {
		t.Fatalf("wrong token: want unauthorized, got %v", err)
	}
	// A token for another cluster fails the TLS check before any secret is sent.
	err = callAnonymous(context.Background(), srv.ClientAddr(), transport.FingerprintTLSConfig(strings.Repeat("ab", 16)), transport.OpAdmit, req, &resp)
	if !errors.Is(err, transport.ErrUnknownCA) {
		t.Fatalf("wrong fingerprint: want ErrUnknownCA, got %v", err)
	}
	if nodes, _ := srv.Node().Nodes(); len(nodes) != 1 {
		t.Fatalf("nodes after refused joins: %v", nodes)
	}
}

func TestHealthz(t *testing.T) {
	srv := startServer(t)
	resp, err := http.Get("http://" + srv.HTTPAddr() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"status":"ok"`) {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
}

func TestDefaultNameIsTheHostName(t *testing.T) {
	srv := startServer(t, func(c *Config) { c.Name = "" })
	nodes, err := srv.Node().Nodes()
	if err != nil || len(nodes) != 1 || nodes[0].Name != chatcore.DefaultNodeName() || nodes[0].Name == "" {
		t.Fatalf("nodes %+v, err %v; want the host name", nodes, err)
	}
}
