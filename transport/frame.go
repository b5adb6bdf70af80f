package transport

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/parleychat/parley"
)

// DefaultMaxFrame is the largest frame a peer may send unless configured
// otherwise: 1 MiB.
const DefaultMaxFrame = 1 << 20

// ErrFrameTooLarge is returned when a frame's declared length exceeds the
// reader's or writer's limit. The stream it came from must be closed: the
// frame boundary is lost.
var ErrFrameTooLarge = errors.New("frame too large")

// WriteFrame encodes v as CBOR and writes it as one frame: the uvarint length
// of the item followed by the item. It refuses items over max bytes.
func WriteFrame(w io.Writer, v any, max int) error {
	return writeFrameOnce(w, max, func(f frameBuf) error { return f.value(v) })
}

// AppendFrame appends v to dst as one frame, as WriteFrame writes it, so
// that several frames can go out in one write. It refuses items over max
// bytes and then returns dst unchanged.
func AppendFrame(dst []byte, v any, max int) ([]byte, error) {
	f := newFrameBuf()
	defer f.release()
	if err := f.value(v); err != nil {
		return dst, err
	}
	b, err := f.frame(max)
	if err != nil {
		return dst, err
	}
	return append(dst, b...), nil
}

// FrameReader reads frames from a stream.
type FrameReader struct {
	r   *bufio.Reader
	max int
	msg parley.Message // the storage of ReadEvent's message
}

// NewFrameReader returns a reader that refuses frames over max bytes.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	return &FrameReader{r: bufio.NewReader(r), max: max}
}

// SetMax changes the largest frame the reader accepts from the next frame
// on: a server reads a hello with a small limit and, once the client has
// logged in, requests with a larger one.
func (f *FrameReader) SetMax(max int) { f.max = max }

// frameChunk is the most a frame's buffer grows by before the bytes that
// fill it have arrived: a peer that declares a large frame and sends
// little of it costs what it sent, not what it declared.
const frameChunk = 64 << 10

// ReadRaw returns the next frame's CBOR bytes. io.EOF means the stream ended
// cleanly between frames; io.ErrUnexpectedEOF means it ended inside one.
func (f *FrameReader) ReadRaw() ([]byte, error) {
	n, err := f.length()
	if err != nil {
		return nil, err
	}
	body, err := readBody(f.r, n)
	if err != nil {
		return nil, bodyErr(err)
	}
	return body, nil
}

// length reads the next frame's length and checks it against the limit.
func (f *FrameReader) length() (int, error) {
	n, err := readLength(f.r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, io.EOF
		}
		return 0, fmt.Errorf("frame: length: %w", err)
	}
	if n > uint64(f.max) {
		return 0, fmt.Errorf("frame: %d bytes: %w", n, ErrFrameTooLarge)
	}
	if n == 0 {
		return 0, fmt.Errorf("frame: empty frame: %w", parley.ErrMalformed)
	}
	return int(n), nil
}

// bodyErr wraps an error met inside a frame's body.
func bodyErr(err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("frame: body: %w", err)
}

// readBody reads exactly n bytes, growing its buffer by at most frameChunk
// (and at most doubling) ahead of the bytes read.
func readBody(r io.Reader, n int) ([]byte, error) {
	body := make([]byte, 0, min(n, frameChunk))
	for len(body) < n {
		if len(body) == cap(body) {
			grow := min(n-len(body), max(len(body), frameChunk))
			body = slices.Grow(body, grow)
		}
		m, err := io.ReadFull(r, body[len(body):min(n, cap(body))])
		body = body[:len(body)+m]
		if err != nil {
			return nil, err
		}
	}
	return body, nil
}

// readLength reads a frame's uvarint length. Unlike binary.ReadUvarint it
// reports a length that overflows 64 bits as ErrMalformed, so it can be told
// apart from a read error; EOF after part of a length is
// io.ErrUnexpectedEOF.
func readLength(r io.ByteReader) (uint64, error) {
	var x uint64
	for i := 0; i < binary.MaxVarintLen64; i++ {
		b, err := r.ReadByte()
		if err != nil {
			if i > 0 && errors.Is(err, io.EOF) {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if b < 0x80 {
			if i == binary.MaxVarintLen64-1 && b > 1 {
				break
			}
			return x | uint64(b)<<(7*i), nil
		}
		x |= uint64(b&0x7f) << (7 * i)
	}
	return 0, fmt.Errorf("overflows 64 bits: %w", parley.ErrMalformed)
}

// Read reads the next frame and decodes it into v.
func (f *FrameReader) Read(v any) error {
	body, err := f.ReadRaw()
	if err != nil {
		return err
	}
	if err := parley.Unmarshal(body, v); err != nil {
		return fmt.Errorf("frame: %w: %w", parley.ErrMalformed, err)
	}
	return nil
}
