package rafttcp

import (
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// keepBuffer is the largest buffer a connection keeps between frames, on
// either side; a larger frame gets a buffer of its own. A batch of a busy
// node's Raft messages is a few KiB.
const keepBuffer = 512 << 10

// deadlineReader is what a frameReader reads: a connection.
type deadlineReader interface {
	io.Reader
	SetReadDeadline(time.Time) error
}

// frameReader reads the frames of one connection.
type frameReader struct {
	r deadlineReader
	// checksum says the bodies carry a CRC32: no TLS.
	checksum bool
	prefix   [prefixSize]byte
	buf      []byte
}

// next reads the next frame and returns its method and body. The body is
// valid until the next call. It waits for the frame's start without a
// deadline, and for the rest of it with one. errPoisoned means the sender
// has ended the connection.
func (fr *frameReader) next() (uint16, []byte, error) {
	if err := fr.r.SetReadDeadline(time.Time{}); err != nil {
		return 0, nil, fmt.Errorf("rafttcp: %w", err)
	}
	if _, err := io.ReadFull(fr.r, fr.prefix[:len(magic)]); err != nil {
		return 0, nil, fmt.Errorf("rafttcp: magic number: %w", err)
	}
	switch [2]byte(fr.prefix[:len(magic)]) {
	case magic:
	case poison:
		return 0, nil, errPoisoned
	default:
		return 0, nil, errBadMagic
	}
	if err := fr.r.SetReadDeadline(time.Now().Add(frameTimeout)); err != nil {
		return 0, nil, fmt.Errorf("rafttcp: %w", err)
	}
	if _, err := io.ReadFull(fr.r, fr.prefix[len(magic):]); err != nil {
		return 0, nil, fmt.Errorf("rafttcp: header: %w", err)
	}
	h, err := parseHeader(fr.prefix[len(magic):])
	if err != nil {
		return 0, nil, err
	}
	body, err := fr.readBody(int(h.size))
	if err != nil {
		return 0, nil, err
	}
	if fr.checksum && crc32.ChecksumIEEE(body) != h.crc {
		return 0, nil, errBadBody
	}
	return h.method, body, nil
}

// readBody reads a body of size bytes (at most maxBody), readChunk bytes
// at a time, each under its own deadline.
func (fr *frameReader) readBody(size int) ([]byte, error) {
	var buf []byte
	if size <= keepBuffer {
		if cap(fr.buf) < size {
			fr.buf = make([]byte, size)
		}
		buf = fr.buf[:0]
	}
	for len(buf) < size {
		n := min(size-len(buf), readChunk)
		if cap(buf)-len(buf) < n {
			// A large body: grow by what is about to arrive.
			grown := make([]byte, len(buf), len(buf)+n)
			copy(grown, buf)
			buf = grown
		}
		if len(buf) > 0 {
			if err := fr.r.SetReadDeadline(time.Now().Add(frameTimeout)); err != nil {
				return nil, fmt.Errorf("rafttcp: %w", err)
			}
		}
		if _, err := io.ReadFull(fr.r, buf[len(buf):len(buf)+n]); err != nil {
			return nil, fmt.Errorf("rafttcp: body: %w", err)
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}
