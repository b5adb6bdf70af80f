// Package rawproto is the tiny RPC the benchmark's raw dragonboat peer
// (bench/rawnode) serves over TCP: the load generator asks a node to
// propose a payload on a shard and waits for the commit, the way a Parley
// client asks a Parley node to send a message.
//
// A frame is a 4-byte big-endian length and a body. A request body is an
// op byte, an 8-byte shard id and the payload; a response body is a status
// byte, an 8-byte value and, for an error, its message.
package rawproto

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Ops of a request.
const (
	// OpPropose proposes the payload on the shard and answers once it is
	// applied, with the state machine's result as the value.
	OpPropose byte = 1
	// OpReady answers 1 if every shard of the node has a leader, else 0.
	OpReady byte = 2
)

// Statuses of a response.
const (
	StatusOK    byte = 0
	StatusError byte = 1
)

// MaxFrame bounds a frame's body.
const MaxFrame = 1 << 20

// ErrTooLarge is returned for a frame over MaxFrame.
var ErrTooLarge = errors.New("rawproto: frame too large")

// Request is one request.
type Request struct {
	Op      byte
	Shard   uint64
	Payload []byte
}

// Response is one response.
type Response struct {
	Status byte
	Value  uint64
	Err    string
}

// AppendRequest appends req's frame to b.
func AppendRequest(b []byte, req Request) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(9+len(req.Payload)))
	b = append(b, req.Op)
	b = binary.BigEndian.AppendUint64(b, req.Shard)
	return append(b, req.Payload...)
}

// AppendResponse appends resp's frame to b.
func AppendResponse(b []byte, resp Response) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(9+len(resp.Err)))
	b = append(b, resp.Status)
	b = binary.BigEndian.AppendUint64(b, resp.Value)
	return append(b, resp.Err...)
}

// readFrame reads one frame's body into buf (grown if needed).
func readFrame(r io.Reader, buf []byte) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, ErrTooLarge
	}
	if n < 9 {
		return nil, fmt.Errorf("rawproto: short frame of %d bytes", n)
	}
	if cap(buf) < int(n) {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("rawproto: %w", err)
	}
	return buf, nil
}

// ReadRequest reads one request. Its Payload aliases buf, which it may
// grow; pass the returned Payload's backing array again to reuse it.
func ReadRequest(r io.Reader, buf []byte) (Request, error) {
	body, err := readFrame(r, buf)
	if err != nil {
		return Request{}, err
	}
	return Request{Op: body[0], Shard: binary.BigEndian.Uint64(body[1:9]), Payload: body[9:]}, nil
}

// ReadResponse reads one response.
func ReadResponse(r io.Reader, buf []byte) (Response, error) {
	body, err := readFrame(r, buf)
	if err != nil {
		return Response{}, err
	}
	return Response{Status: body[0], Value: binary.BigEndian.Uint64(body[1:9]), Err: string(body[9:])}, nil
}
