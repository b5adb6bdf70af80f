package transport

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/internal/cborhead"
)

// Frames are encoded once, into a pooled buffer that keeps room for the
// length in front of the item: the length is written into that room once
// the item's size is known, and the frame goes out from the same bytes. A
// request's or response's body is encoded in place inside its envelope,
// not marshalled apart and copied in as a raw message.

// lengthRoom is the room kept in front of an item for its uvarint length.
const lengthRoom = binary.MaxVarintLen64

// keepBuffer is the largest buffer returned to the pool; a rare large
// frame's buffer is left to the collector.
const keepBuffer = 64 << 10

// ErrEncode is returned when a frame's value cannot be encoded as CBOR;
// nothing was written and the stream is unharmed.
var ErrEncode = errors.New("cannot encode")

var framePool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// frameBuf is a frame being encoded.
type frameBuf struct{ b *bytes.Buffer }

func newFrameBuf() frameBuf {
	b := framePool.Get().(*bytes.Buffer)
	b.Reset()
	var room [lengthRoom]byte
	b.Write(room[:])
	return frameBuf{b}
}

func (f frameBuf) release() {
	if f.b.Cap() <= keepBuffer {
		framePool.Put(f.b)
	}
}

// frame returns the finished frame: the item's length, then the item. It
// refuses items over max bytes.
func (f frameBuf) frame(max int) ([]byte, error) {
	all := f.b.Bytes()
	n := len(all) - lengthRoom
	if n > max {
		return nil, fmt.Errorf("frame: %d bytes: %w", n, ErrFrameTooLarge)
	}
	var l [lengthRoom]byte
	m := binary.PutUvarint(l[:], uint64(n))
	start := lengthRoom - m
	copy(all[start:], l[:m])
	return all[start:], nil
}

// value encodes v into the frame.
func (f frameBuf) value(v any) error {
	if err := parley.MarshalTo(f.b, v); err != nil {
		return fmt.Errorf("frame: %w: %w", ErrEncode, err)
	}
	return nil
}

// head writes a CBOR head of major type major and argument n.
func (f frameBuf) head(major byte, n uint64) {
	var h [9]byte
	f.b.Write(cborhead.Append(h[:0], major, n))
}

// writeFrameOnce encodes a frame with fill and writes it to w in one
// write. An encoding error or a frame over max writes nothing.
func writeFrameOnce(w io.Writer, max int, fill func(frameBuf) error) error {
	f := newFrameBuf()
	defer f.release()
	if err := fill(f); err != nil {
		return err
	}
	b, err := f.frame(max)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("frame: %w", err)
	}
	return nil
}

// WriteResponse writes, as one frame, the Response with id that carries
// either e or body encoded as its Body (no body if body is nil): the same
// bytes as WriteFrame of that Response, with the body encoded only once.
func WriteResponse(w io.Writer, id uint64, body any, e *Error, max int) error {
	return writeFrameOnce(w, max, func(f frameBuf) error {
		// Response's fields in CBOR's deterministic order: 1 ID, 2 Error
		// (omitted if nil), 3 Body (omitted if empty).
		pairs := uint64(1)
		if e != nil {
			pairs++
		}
		withBody := e == nil && body != nil
		if withBody {
			pairs++
		}
		f.head(cborhead.Map, pairs)
		f.head(cborhead.Uint, 1)
		f.head(cborhead.Uint, id)
		if e != nil {
			f.head(cborhead.Uint, 2)
			return f.value(e)
		}
		if withBody {
			f.head(cborhead.Uint, 3)
			return f.value(body)
		}
		return nil
	})
}

// writeRequest writes the Request id of operation op with body encoded in
// place, as one frame.
func writeRequest(w io.Writer, id uint64, op string, body any, max int) error {
	return writeFrameOnce(w, max, func(f frameBuf) error {
		// Request's fields: 1 ID, 2 Op, 3 Body (always present: a body
		// encodes to at least one byte).
		f.head(cborhead.Map, 3)
		f.head(cborhead.Uint, 1)
		f.head(cborhead.Uint, id)
		f.head(cborhead.Uint, 2)
		f.head(cborhead.Text, uint64(len(op)))
		f.b.WriteString(op)
		f.head(cborhead.Uint, 3)
		return f.value(body)
	})
}
