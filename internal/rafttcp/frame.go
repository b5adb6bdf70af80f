package rafttcp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"time"
)

// The wire is dragonboat's own (its internal/transport/tcp.go), so that a
// node of this transport and one of dragonboat's can talk, during a rolling
// upgrade for one. A frame is a 2-byte magic number, an 18-byte header and
// a body: a protobuf MessageBatch or snapshot Chunk. The header holds the
// body's method (2 bytes), its size (8), the header's own CRC32 (4, computed
// with those bytes as zero) and the body's CRC32 (4; zero when the
// connection is TLS, which has a MAC of its own). A sender of snapshot
// chunks ends its connection with the poison number in place of a magic
// number, and waits for the receiver to answer it with the same two bytes.
const (
	headerSize = 18
	prefixSize = len(magic) + headerSize
	// methodRaft and methodSnapshot are the two kinds of body.
	methodRaft     uint16 = 100
	methodSnapshot uint16 = 200
)

var (
	magic  = [2]byte{0xAE, 0x7D}
	poison = [2]byte{0x00, 0x00}
)

// The limits a receiver holds a frame to.
const (
	// maxBody bounds a body's size: a message batch is at most 64 MiB
	// (dragonboat's MaxMessageBatchSize) and one message past it can be
	// as large again, as can a snapshot chunk's.
	maxBody = 256 << 20
	// readChunk is what a receiver reads under one deadline, and by
	// how much a large body's buffer grows: memory follows the bytes that
	// arrive, not the size a header claims.
	readChunk = 1 << 20
)

// Deadlines: dragonboat's, except that a connection waits for its next
// frame without one (dragonboat wakes every second to renew it and wait
// again, to no effect).
const (
	// frameTimeout bounds reading the rest of a frame once its magic
	// number is in, per readChunk of body.
	frameTimeout = 5 * time.Second
	// writeTimeout bounds writing a frame, per writeChunk of it.
	writeTimeout = 5 * time.Second
	// poisonTimeout bounds sending the poison number or its answer.
	poisonTimeout = 2 * time.Second
	// poisonAckTimeout bounds waiting for the poison's answer.
	poisonAckTimeout = 10 * time.Second
)

// writeChunk is the most of a frame written under one deadline.
const writeChunk = 2 << 20

// errBadFrame is what every error of a frame that breaks the wire format
// wraps. The connection it came on is closed; nothing it carried is
// delivered.
var errBadFrame = errors.New("rafttcp: bad frame")

// The ways a frame breaks the wire format.
var (
	errBadMagic     = fmt.Errorf("%w: bad magic number", errBadFrame)
	errBadHeader    = fmt.Errorf("%w: header checksum mismatch", errBadFrame)
	errBadMethod    = fmt.Errorf("%w: unknown method", errBadFrame)
	errEmptyBody    = fmt.Errorf("%w: empty body", errBadFrame)
	errBodyTooLarge = fmt.Errorf("%w: body too large", errBadFrame)
	errBadBody      = fmt.Errorf("%w: body checksum mismatch", errBadFrame)
)

// errPoisoned is no fault: the sender has ended the connection.
var errPoisoned = errors.New("rafttcp: poison received")

// header is a frame's header, decoded.
type header struct {
	method uint16
	size   uint64
	crc    uint32
}

// put writes h into b[:headerSize], with the header's own checksum.
func (h header) put(b []byte) {
	b = b[:headerSize]
	binary.BigEndian.PutUint16(b, h.method)
	binary.BigEndian.PutUint64(b[2:], h.size)
	binary.BigEndian.PutUint32(b[10:], 0)
	binary.BigEndian.PutUint32(b[14:], h.crc)
	binary.BigEndian.PutUint32(b[10:], crc32.ChecksumIEEE(b))
}

// parseHeader decodes and checks a header; b is left as it was.
func parseHeader(b []byte) (header, error) {
	if len(b) < headerSize {
		return header{}, fmt.Errorf("rafttcp: header of %d bytes: %w", len(b), io.ErrUnexpectedEOF)
	}
	var zeroed [headerSize]byte
	copy(zeroed[:], b)
	binary.BigEndian.PutUint32(zeroed[10:], 0)
	if crc32.ChecksumIEEE(zeroed[:]) != binary.BigEndian.Uint32(b[10:]) {
		return header{}, errBadHeader
	}
	h := header{
		method: binary.BigEndian.Uint16(b),
		size:   binary.BigEndian.Uint64(b[2:]),
		crc:    binary.BigEndian.Uint32(b[14:]),
	}
	switch {
	case h.method != methodRaft && h.method != methodSnapshot:
		return header{}, fmt.Errorf("%w %d", errBadMethod, h.method)
	case h.size == 0:
		return header{}, errEmptyBody
	case h.size > maxBody:
		return header{}, fmt.Errorf("%w: %d bytes, limit %d", errBodyTooLarge, h.size, maxBody)
	}
	return h, nil
}

// sealFrame fills the prefix of frame, whose body starts at prefixSize:
// magic number and header. With checksum, the header carries the body's
// CRC32 (a connection without TLS).
func sealFrame(frame []byte, method uint16, checksum bool) {
	body := frame[prefixSize:]
	h := header{method: method, size: uint64(len(body))}
	if checksum {
		h.crc = crc32.ChecksumIEEE(body)
	}
	copy(frame, magic[:])
	h.put(frame[len(magic):])
}

// marshaler is a frame's body: a MessageBatch or a Chunk.
type marshaler interface {
	MarshalTo(dst []byte) (int, error)
}

// buildFrame marshals body into frame, which has room for it after the
// prefix, seals the frame and returns it cut to its length.
func buildFrame(frame []byte, body marshaler, method uint16, checksum bool) ([]byte, error) {
	n, err := body.MarshalTo(frame[prefixSize:])
	if err != nil {
		return nil, err
	}
	frame = frame[:prefixSize+n]
	sealFrame(frame, method, checksum)
	return frame, nil
}
