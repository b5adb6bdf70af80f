package transport

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// sampleMessages returns one filled-in value of every wire message type.
func sampleMessages(t testing.TB) []any {
	id := parley.NewMsgID(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	msg := parley.Message{Room: "general", Seq: 42, ID: id, User: "ada", TS: parley.UnixTime(1740830400000000000), Text: "hello, wörld"}
	body, err := parley.Marshal(SendRequest{Room: "general", ID: id, Text: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	nodes := []NodeInfo{{ID: 1, Name: "pi-1", Addr: "10.0.0.1:7000", Up: true}, {ID: 2, Name: "pi-2", Addr: "[fd00::2]:7000"}}
	return []any{
		&Hello{Version: ProtocolVersion, User: "ada", Password: "secret", Token: "tok"},
		&Welcome{ClusterID: "c1", NodeID: 3, Token: "tok", Nodes: nodes},
		&Welcome{Error: &Error{Code: CodeUnauthorized, Message: "bad password"}},
		&NodeInfo{ID: 9, Name: "n9", Addr: "127.0.0.1:1"},
		&Request{ID: 7, Op: OpSend, Body: body},
		&Response{ID: 7, Body: body},
		&Response{ID: 8, Error: &Error{Code: CodeUnavailable, Message: "no quorum", RetryMillis: 250}},
		&SendRequest{Room: "general", ID: id, Text: strings.Repeat("x", 1000)},
		&SendResponse{Room: "general", Seq: 42, ID: id, TS: 1, Duplicate: true},
		&HistoryRequest{Room: "general", From: 5, Limit: 100, Last: 3, MinSeq: 41},
		&HistoryResponse{Messages: []parley.Message{msg, msg}, LastSeq: 42},
		&SubscribeRequest{Room: "general", From: 1, Sub: 2},
		&SubscribeResponse{From: 1},
		&SubscribeHeader{Sub: 2},
		&Event{Msg: &msg},
		&Event{Error: &Error{Code: CodeForbidden, Message: "left the room"}},
		&msg,
		&StatusRequest{},
		&StatusResponse{Nodes: nodes, Shards: []ShardStatus{{ID: 1, Leader: 2, Term: 3, Replicas: []uint64{1, 2, 3}, NonVoting: []uint64{4}, Wanted: []uint64{1, 2, 4}}}},
		&NodeInfo{ID: 3, Name: "n3", Addr: "127.0.0.1:3", Up: true, State: "draining", Voters: 9, Leaders: 3},
		&AdminRequest{Action: AdminRemoveNode, Args: []string{"n3"}},
		&AdminRequest{Action: AdminSet, Args: []string{"dead-after", "5m"}},
		&AdminResponse{Message: "node 3 (n3) is draining"},
		&ForwardedRequest{User: "ada", Op: OpSend, Body: body},
		&ShardStatus{ID: 17, Leader: 1, Term: 9, Replicas: []uint64{1}},
		&AdmitRequest{Token: "join", Name: "pi-4", RaftAddr: "10.0.0.4:7001", ClientAddr: "10.0.0.4:7000", PublicKey: []byte{1, 2, 3}},
		&AdmitResponse{NodeID: 4, ClusterID: "c1", CertPEM: []byte("cert"), CAPEM: []byte("ca")},
		&Error{Code: CodeTooLarge, Message: "too big"},
		&parley.Message{Room: "general", Seq: 43, ID: id, User: "ada", TS: parley.UnixTime(1), Text: "ada joined", Kind: parley.KindJoin},
		&JoinRoomRequest{Room: "general"},
		&LeaveRoomRequest{Room: parley.DMRoom("bob", "ada")},
		&RoomsRequest{},
		&RoomsRequest{After: "general", Limit: 10},
		&RoomsResponse{Rooms: []RoomInfo{{Name: "general", Members: 3, LastSeq: 42, Joined: true}, {Name: "dm.ada.bob", Members: 2, LastSeq: 1, DM: true}}},
		&RoomsResponse{Rooms: []RoomInfo{{Name: "general", Members: 3}}, Next: "general"},
		&WhoRequest{Room: "general"},
		&WhoRequest{Room: "general", After: "ada", Limit: 500},
		&WhoResponse{Members: []Member{{User: "ada", Online: true}, {User: "bob"}}},
		&WhoResponse{Members: []Member{{User: "ada"}}, Next: "ada"},
		&PresenceRequest{},
		&PresenceRequest{After: "ada", Limit: 2},
		&PresenceResponse{Users: []string{"ada", "bob"}},
		&PresenceResponse{Users: []string{"ada"}, Next: "ada"},
		&PingRequest{},
		&Request{ID: 9, Op: OpPing, Body: []byte{0xa0}},
	}
}

// writeAll writes every sample as a frame.
func writeAll(t *testing.T, w io.Writer, msgs []any) {
	t.Helper()
	for _, m := range msgs {
		if err := WriteFrame(w, m, DefaultMaxFrame); err != nil {
			t.Fatalf("%T: %v", m, err)
		}
	}
}

// readAll reads one frame per sample into a fresh value of the sample's
// type, checks it equals the sample, then expects a clean EOF.
func readAll(t *testing.T, fr *FrameReader, msgs []any) {
	t.Helper()
	for _, want := range msgs {
		got := reflect.New(reflect.TypeOf(want).Elem()).Interface()
		if err := fr.Read(got); err != nil {
			t.Fatalf("%T: %v", want, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%T: got %+v, want %+v", want, got, want)
		}
	}
	if err := fr.Read(new(Hello)); err != io.EOF {
		t.Fatalf("after the last frame: %v, want io.EOF", err)
	}
}

func TestFrameRoundTripBuffer(t *testing.T) {
	msgs := sampleMessages(t)
	var buf bytes.Buffer
	writeAll(t, &buf, msgs)
	readAll(t, NewFrameReader(&buf, DefaultMaxFrame), msgs)
}

func TestFrameRoundTripQUIC(t *testing.T) {
	ca := newTestCA(t, "c1")
	s := startEcho(t, "127.0.0.1:0", ca.serverTLS(t, "n1"))
	conn, err := dial(t, s.addr, ClientTLSConfig(s.addr, ca.Cert, nil))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deadline, _ := ctx.Deadline()
	str.SetDeadline(deadline)
	msgs := sampleMessages(t)
	// Write from another goroutine: the echo can exceed the stream's flow
	// control window if nobody reads.
	errc := make(chan error, 1)
	go func() {
		for _, m := range msgs {
			if err := WriteFrame(str, m, DefaultMaxFrame); err != nil {
				errc <- err
				return
			}
		}
		errc <- str.Close()
	}()
	readAll(t, NewFrameReader(str, DefaultMaxFrame), msgs)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// frame builds a raw frame: the uvarint length of body, then body.
func frame(body []byte) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

func TestFrameTooLarge(t *testing.T) {
	const max = 64
	// Declared over the limit: refused before reading or allocating the body.
	in := binary.AppendUvarint(nil, max+1)
	if _, err := NewFrameReader(bytes.NewReader(in), max).ReadRaw(); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("declared %d: %v, want ErrFrameTooLarge", max+1, err)
	}
	in = binary.AppendUvarint(nil, 1<<62)
	if err := NewFrameReader(bytes.NewReader(in), max).Read(new(Hello)); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("declared 2^62: %v, want ErrFrameTooLarge", err)
	}
	// Exactly the limit is fine.
	body, err := parley.Marshal(strings.Repeat("a", max-2))
	if err != nil || len(body) != max {
		t.Fatalf("body of %d bytes, %v", len(body), err)
	}
	var s string
	if err := NewFrameReader(bytes.NewReader(frame(body)), max).Read(&s); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	if err := WriteFrame(&buf, Hello{User: strings.Repeat("u", max)}, max); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame: %v, want ErrFrameTooLarge", err)
	}
	if buf.Len() != 0 {
		t.Fatalf("WriteFrame wrote %d bytes of a refused frame", buf.Len())
	}
	if err := WriteFrame(&buf, parley.Message{Text: strings.Repeat("m", DefaultMaxFrame)}, DefaultMaxFrame); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("WriteFrame default max: %v, want ErrFrameTooLarge", err)
	}
}

func TestFrameMalformed(t *testing.T) {
	nested := bytes.Repeat([]byte{0x81}, parley.MaxNestedLevels+1) // [[[...
	nested = append(nested, 0x01)
	okHello, err := parley.Marshal(Hello{Version: 1})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"not cbor":               {0xff},
		"reserved info":          {0x1c},
		"truncated item":         {0x63, 'a', 'b'},
		"duplicate map key":      {0xa2, 0x01, 0x01, 0x01, 0x02},
		"duplicate string key":   {0xa2, 0x61, 'a', 0x01, 0x61, 'a', 0x02},
		"indefinite map":         {0xbf, 0x01, 0x01, 0xff},
		"indefinite array":       {0x9f, 0x01, 0xff},
		"indefinite text":        {0x7f, 0x61, 'a', 0xff},
		"indefinite bytes":       {0x5f, 0x41, 0x00, 0xff},
		"too deep":               nested,
		"trailing bytes":         append(append([]byte{}, okHello...), 0x00),
		"two items":              append(append([]byte{}, okHello...), okHello...),
		"tag":                    {0xc1, 0x01},
		"invalid utf-8":          {0xa1, 0x02, 0x62, 0xff, 0xfe},
		"wrong type":             {0xa1, 0x01, 0x61, 'x'},
		"too many array entries": append([]byte{0x9a, 0x00, 0x00, 0x10, 0x01}, make([]byte, parley.MaxArrayElements+1)...),
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			err := NewFrameReader(bytes.NewReader(frame(body)), DefaultMaxFrame).Read(new(Hello))
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("%x: %v, want ErrMalformed", body, err)
			}
		})
	}
	t.Run("empty frame", func(t *testing.T) {
		if _, err := NewFrameReader(bytes.NewReader([]byte{0}), 16).ReadRaw(); !errors.Is(err, parley.ErrMalformed) {
			t.Fatalf("%v, want ErrMalformed", err)
		}
	})
	t.Run("length overflows", func(t *testing.T) {
		for _, in := range [][]byte{
			bytes.Repeat([]byte{0xff}, 11),
			append(bytes.Repeat([]byte{0xff}, 9), 0x02),
		} {
			_, err := NewFrameReader(bytes.NewReader(in), 16).ReadRaw()
			if !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("%x: %v, want ErrMalformed", in, err)
			}
		}
	})
}

func TestFrameTruncated(t *testing.T) {
	full := frame([]byte{0xa1, 0x01, 0x01})
	for cut := 1; cut < len(full); cut++ {
		err := NewFrameReader(bytes.NewReader(full[:cut]), 16).Read(new(Hello))
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("cut at %d: %v, want io.ErrUnexpectedEOF", cut, err)
		}
	}
	// Inside a multi-byte length.
	if _, err := NewFrameReader(bytes.NewReader([]byte{0x80}), 1024).ReadRaw(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("cut inside the length: %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestFrameCleanEOF(t *testing.T) {
	if err := NewFrameReader(bytes.NewReader(nil), 16).Read(new(Hello)); err != io.EOF {
		t.Fatalf("empty stream: %v, want io.EOF", err)
	}
	var buf bytes.Buffer
	if err := WriteFrame(&buf, SubscribeHeader{Sub: 1}, 16); err != nil {
		t.Fatal(err)
	}
	fr := NewFrameReader(&buf, 16)
	if err := fr.Read(new(SubscribeHeader)); err != nil {
		t.Fatal(err)
	}
	if _, err := fr.ReadRaw(); err != io.EOF {
		t.Fatalf("after a frame: %v, want io.EOF", err)
	}
}

// errReader fails after its data.
type errReader struct {
	data []byte
	err  error
}

func (r *errReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestFrameReadError(t *testing.T) {
	boom := errors.New("stream reset")
	for _, data := range [][]byte{nil, {0x85}, {0x05, 0xa1}} {
		_, err := NewFrameReader(&errReader{data: data, err: boom}, 16).ReadRaw()
		if !errors.Is(err, boom) || errors.Is(err, parley.ErrMalformed) {
			t.Errorf("%x: %v, want the read error", data, err)
		}
	}
}

// lengthOnly is an endless stream of frame headers declaring n bytes.
type lengthOnly struct{ hdr []byte }

func (r lengthOnly) Read(p []byte) (int, error) {
	n := 0
	for len(p)-n >= len(r.hdr) {
		n += copy(p[n:], r.hdr)
	}
	return n, nil
}

func TestFrameTooLargeAllocatesNothing(t *testing.T) {
	const max = DefaultMaxFrame
	fr := NewFrameReader(lengthOnly{binary.AppendUvarint(nil, max+1)}, max)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	const n = 1000
	for range n {
		if _, err := fr.ReadRaw(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	// Only the error values: far below one maximal frame per call.
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > max/64 {
		t.Fatalf("%d bytes allocated per refused frame", per)
	}
}

func TestDecodeLimitsAreExact(t *testing.T) {
	// parley.MaxNestedLevels arrays around an integer.
	nested := append(bytes.Repeat([]byte{0x81}, parley.MaxNestedLevels), 0x01)
	var v any
	if err := parley.Unmarshal(nested, &v); err != nil {
		t.Fatalf("%d levels: %v", parley.MaxNestedLevels, err)
	}
	if err := parley.Unmarshal(append([]byte{0x81}, nested...), &v); err == nil {
		t.Fatalf("%d levels accepted", parley.MaxNestedLevels+1)
	}
	arr, err := parley.Marshal(make([]int, parley.MaxArrayElements))
	if err != nil {
		t.Fatal(err)
	}
	if err := parley.Unmarshal(arr, &v); err != nil {
		t.Fatalf("%d elements: %v", parley.MaxArrayElements, err)
	}
	if arr, err = parley.Marshal(make([]int, parley.MaxArrayElements+1)); err != nil {
		t.Fatal(err)
	}
	if err := parley.Unmarshal(arr, &v); err == nil {
		t.Fatalf("%d elements accepted", parley.MaxArrayElements+1)
	}
}

// A frame's buffer grows with the bytes that arrive: a peer that declares
// a 1 MiB frame and sends 10 bytes of it makes the reader allocate about
// one chunk, not the declared size.
func TestFrameReaderGrowsWithBytes(t *testing.T) {
	const declared = 1 << 20
	head := binary.AppendUvarint(nil, declared)
	r := NewFrameReader(io.MultiReader(bytes.NewReader(head), bytes.NewReader(make([]byte, 10))), DefaultMaxFrame)
	var ms1, ms2 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	_, err := r.ReadRaw()
	runtime.ReadMemStats(&ms2)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("read of a cut frame: %v, want io.ErrUnexpectedEOF", err)
	}
	if got := ms2.TotalAlloc - ms1.TotalAlloc; got >= declared/4 {
		t.Fatalf("a cut 1 MiB frame allocated %d bytes", got)
	}

	// A whole frame larger than a chunk still reads intact.
	big := bytes.Repeat([]byte("x"), 3*frameChunk+17)
	body, err := readBody(bytes.NewReader(big), len(big))
	if err != nil || !bytes.Equal(body, big) {
		t.Fatalf("readBody of %d bytes: %d bytes, %v", len(big), len(body), err)
	}
}

func TestFrameReaderSetMax(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, strings.Repeat("y", 100), DefaultMaxFrame); err != nil {
		t.Fatal(err)
	}
	if err := WriteFrame(&buf, strings.Repeat("y", 100), DefaultMaxFrame); err != nil {
		t.Fatal(err)
	}
	r := NewFrameReader(&buf, 1<<20)
	r.SetMax(50)
	var s string
	if err := r.Read(&s); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("over the lowered limit: %v, want ErrFrameTooLarge", err)
	}
}
