package rafttcp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	pb "github.com/lni/dragonboat/v4/raftpb"
)

// bytesConn is a deadlineReader over fixed bytes.
type bytesConn struct{ *bytes.Reader }

func (bytesConn) SetReadDeadline(time.Time) error { return nil }

// testBatch is a message batch with n messages whose entries carry cmd.
func testBatch(n int, cmd []byte) pb.MessageBatch {
	b := pb.MessageBatch{DeploymentId: 7, SourceAddress: "127.0.0.1:1", BinVer: 210}
	for i := range n {
		b.Requests = append(b.Requests, pb.Message{
			Type: pb.Replicate, ShardID: uint64(i), From: 1, To: 2, Term: 3, LogIndex: uint64(10 + i),
			Entries: []pb.Entry{{Term: 3, Index: uint64(11 + i), Cmd: cmd}},
		})
	}
	return b
}

// encodeBatch is what messageConn sends for b.
func encodeBatch(t testing.TB, b pb.MessageBatch, checksum bool) []byte {
	return encode(t, make([]byte, prefixSize+b.SizeUpperLimit()), &b, methodRaft, checksum)
}

// encode is buildFrame, failing t on an error.
func encode(t testing.TB, frame []byte, body marshaler, method uint16, checksum bool) []byte {
	frame, err := buildFrame(frame, body, method, checksum)
	if err != nil {
		t.Fatal(err)
	}
	return frame
}

func TestFramesRoundTrip(t *testing.T) {
	for _, checksum := range []bool{false, true} {
		var wire []byte
		batches := []pb.MessageBatch{
			testBatch(1, []byte("hello")),
			testBatch(40, bytes.Repeat([]byte("x"), 300)),
			// Over keepBuffer, readChunk and writeChunk: a buffer of its
			// own, grown as the bytes arrive, read under several deadlines.
			testBatch(2, bytes.Repeat([]byte("y"), 3<<20)),
			testBatch(3, []byte("after the large one")),
		}
		for _, b := range batches {
			wire = append(wire, encodeBatch(t, b, checksum)...)
		}
		wire = append(wire, poison[:]...)
		fr := frameReader{r: bytesConn{bytes.NewReader(wire)}, checksum: checksum}
		for i, want := range batches {
			method, body, err := fr.next()
			if err != nil {
				t.Fatalf("checksum %v, frame %d: %v", checksum, i, err)
			}
			if method != methodRaft {
				t.Fatalf("frame %d: method %d", i, method)
			}
			var got pb.MessageBatch
			if err := got.Unmarshal(body); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if len(got.Requests) != len(want.Requests) || got.SourceAddress != want.SourceAddress ||
				!bytes.Equal(got.Requests[len(got.Requests)-1].Entries[0].Cmd, want.Requests[0].Entries[0].Cmd) {
				t.Fatalf("frame %d: got %d requests from %q", i, len(got.Requests), got.SourceAddress)
			}
		}
		if cap(fr.buf) > keepBuffer {
			t.Fatalf("reader kept a %d-byte buffer", cap(fr.buf))
		}
		if _, _, err := fr.next(); !errors.Is(err, errPoisoned) {
			t.Fatalf("after the frames: %v, want poison", err)
		}
		if _, _, err := fr.next(); !errors.Is(err, io.EOF) {
			t.Fatalf("at the end: %v, want EOF", err)
		}
	}
}

// TestOneWritePerFrame is the point of the package: a frame leaves in one
// Write, so in one TLS record.
func TestOneWritePerFrame(t *testing.T) {
	frame := encodeBatch(t, testBatch(5, []byte("hi")), false)
	w := &countingWriter{}
	if err := writeFrame(w, frame); err != nil {
		t.Fatal(err)
	}
	if w.writes != 1 || !bytes.Equal(w.Bytes(), frame) {
		t.Fatalf("%d writes of %d bytes, want 1 of %d", w.writes, w.Len(), len(frame))
	}
	big := encodeBatch(t, testBatch(1, make([]byte, 5<<20)), false)
	w = &countingWriter{}
	if err := writeFrame(w, big); err != nil {
		t.Fatal(err)
	}
	if w.writes != 3 || !bytes.Equal(w.Bytes(), big) {
		t.Fatalf("large frame: %d writes, want 3 of at most %d bytes", w.writes, writeChunk)
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) { w.writes++; return w.Buffer.Write(p) }

func (w *countingWriter) SetWriteDeadline(time.Time) error { return nil }

func TestBrokenFrames(t *testing.T) {
	good := encodeBatch(t, testBatch(2, []byte("hello")), true)
	mutate := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	reseal := func(b []byte) []byte { // a header with a valid checksum over what the test set
		var h [headerSize]byte
		copy(h[:], b[2:prefixSize])
		binary.BigEndian.PutUint32(h[10:], 0)
		header{method: binary.BigEndian.Uint16(h[:]), size: binary.BigEndian.Uint64(h[2:]), crc: binary.BigEndian.Uint32(h[14:])}.put(b[2:])
		return b
	}
	for _, tc := range []struct {
		name string
		wire []byte
		want error
	}{
		{"bad magic", mutate(func(b []byte) []byte { b[0] = 0x12; return b }), errBadMagic},
		{"header bit flipped", mutate(func(b []byte) []byte { b[5] ^= 1; return b }), errBadHeader},
		{"unknown method", mutate(func(b []byte) []byte { binary.BigEndian.PutUint16(b[2:], 300); return reseal(b) }), errBadMethod},
		{"empty body", mutate(func(b []byte) []byte { binary.BigEndian.PutUint64(b[4:], 0); return reseal(b)[:prefixSize] }), errEmptyBody},
		{"huge body", mutate(func(b []byte) []byte { binary.BigEndian.PutUint64(b[4:], 1<<40); return reseal(b) }), errBodyTooLarge},
		{"body bit flipped", mutate(func(b []byte) []byte { b[len(b)-1] ^= 1; return b }), errBadBody},
		{"cut in the header", good[:10], io.ErrUnexpectedEOF},
		{"cut in the body", good[:len(good)-1], io.ErrUnexpectedEOF},
	} {
		fr := frameReader{r: bytesConn{bytes.NewReader(tc.wire)}, checksum: true}
		if _, _, err := fr.next(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

// TestStalledFrameTimesOut: a peer that sends a frame's start and stops is
// cut off after frameTimeout, while a connection between frames waits.
func TestStalledFrameTimesOut(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for frameTimeout")
	}
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	done := make(chan error, 1)
	go func() {
		fr := frameReader{r: b}
		_, _, err := fr.next()
		done <- err
	}()
	frame := encodeBatch(t, testBatch(1, []byte("x")), false)
	if _, err := a.Write(frame[:prefixSize+1]); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("stalled frame: %v, want a timeout", err)
		}
	case <-time.After(3 * frameTimeout):
		t.Fatal("a stalled frame was waited for past its deadline")
	}
}
