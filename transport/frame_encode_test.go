package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// oldFrame is how a frame was encoded before frames were encoded once:
// Marshal of the item, then its length and a copy.
func oldFrame(t *testing.T, v any) []byte {
	t.Helper()
	body, err := parley.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := parley.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestEnvelopesEncodeAsBefore checks that a request or response whose body
// is encoded in place is byte for byte the frame of the envelope with the
// body marshalled apart, over ids of every CBOR width and bodies of every
// size class, including none, a nil one and an error.
func TestEnvelopesEncodeAsBefore(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	ids := []uint64{0, 1, 23, 24, 255, 256, 65535, 65536, 1<<32 - 1, 1 << 32, 1<<64 - 1}
	for range 40 {
		ids = append(ids, rng.Uint64()>>rng.UintN(64))
	}
	var nilMsg *parley.Message
	bodies := []any{
		nil, nilMsg, SendRequest{Room: "general", ID: parley.NewMsgID(time.Unix(1700000000, 0)), Text: "hi"},
		SendRequest{Room: "r", Text: strings.Repeat("x", 300)}, SendRequest{Text: strings.Repeat("é", 40000)},
		[]int{1, 2, 3}, "just a string",
	}
	ops := []string{"send", "", strings.Repeat("o", 30), strings.Repeat("p", 300)}
	for _, id := range ids {
		for _, body := range bodies {
			var got bytes.Buffer
			if err := WriteResponse(&got, id, body, nil, DefaultMaxFrame); err != nil {
				t.Fatal(err)
			}
			want := Response{ID: id}
			if body != nil {
				want.Body = mustMarshal(t, body)
			}
			if w := oldFrame(t, want); !bytes.Equal(got.Bytes(), w) {
				t.Fatalf("response %d %T:\n got %x\nwant %x", id, body, got.Bytes(), w)
			}
			for _, op := range ops {
				got.Reset()
				if err := writeRequest(&got, id, op, body, DefaultMaxFrame); err != nil {
					t.Fatal(err)
				}
				if w := oldFrame(t, Request{ID: id, Op: op, Body: mustMarshal(t, body)}); !bytes.Equal(got.Bytes(), w) {
					t.Fatalf("request %d %q %T:\n got %x\nwant %x", id, op, body, got.Bytes(), w)
				}
			}
		}
		var got bytes.Buffer
		e := Errorf(CodeTooLarge, "response: %d", id)
		if err := WriteResponse(&got, id, "ignored", e, DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
		if w := oldFrame(t, Response{ID: id, Error: e}); !bytes.Equal(got.Bytes(), w) {
			t.Fatalf("error response %d:\n got %x\nwant %x", id, got.Bytes(), w)
		}
	}
}

// TestFrameEncodingRefusals checks that a frame over the limit and a value
// that cannot be encoded write nothing, with errors that say which.
func TestFrameEncodingRefusals(t *testing.T) {
	var w bytes.Buffer
	err := WriteResponse(&w, 1, SendRequest{Text: strings.Repeat("x", 200)}, nil, 100)
	if !errors.Is(err, ErrFrameTooLarge) || w.Len() != 0 {
		t.Fatalf("response over the limit: %v, %d bytes written", err, w.Len())
	}
	err = writeRequest(&w, 1, "send", make(chan int), DefaultMaxFrame)
	if !errors.Is(err, ErrEncode) || w.Len() != 0 {
		t.Fatalf("request with a channel body: %v, %d bytes written", err, w.Len())
	}
	if got, err := AppendFrame([]byte("keep"), make(chan int), DefaultMaxFrame); !errors.Is(err, ErrEncode) || string(got) != "keep" {
		t.Fatalf("AppendFrame of a channel: %q, %v", got, err)
	}
	// The pool hands out clean buffers after a refusal.
	if err := WriteFrame(&w, Hello{}, DefaultMaxFrame); err != nil || !bytes.Equal(w.Bytes(), oldFrame(t, Hello{})) {
		t.Fatalf("frame after refusals: %x, %v", w.Bytes(), err)
	}
}

// BenchmarkWriteResponse compares a send's response encoded once in place
// with the old way: Marshal of the body, Marshal of the envelope, copy.
func BenchmarkWriteResponse(b *testing.B) {
	body := SendResponse{Room: "general", Seq: 123456, ID: parley.NewMsgID(time.Unix(1700000000, 0)), TS: 1700000000123456789}
	b.Run("once", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if err := WriteResponse(io.Discard, 77, body, nil, DefaultMaxFrame); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("twice", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			raw, err := parley.Marshal(body)
			if err != nil {
				b.Fatal(err)
			}
			env, err := parley.Marshal(Response{ID: 77, Body: raw})
			if err != nil {
				b.Fatal(err)
			}
			buf := binary.AppendUvarint(make([]byte, 0, 256), uint64(len(env)))
			if _, err := io.Discard.Write(append(buf, env...)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
