// Package cborhead writes and reads the head of a CBOR item: its major type
// and its argument (a value, or a length), the one piece every hand-written
// CBOR encoder and decoder of Parley shares (the frame envelopes in
// transport, the canonical message in the root package, the apply path's
// records in chatcore). Only definite lengths are read: an indefinite
// length, a reserved form or a short input is not a head here, and the
// callers leave such input to the generic decoder.
package cborhead

import (
	"encoding/binary"
	"math"
)

// CBOR major types: the major argument of Append, the major result of Read.
const (
	Uint   = 0 // an unsigned integer
	NegInt = 1 // a negative integer, -1 - n
	Bytes  = 2 // a byte string of n bytes
	Text   = 3 // a UTF-8 text string of n bytes
	Array  = 4 // an array of n items
	Map    = 5 // a map of n pairs
	Simple = 7 // false, true, null, undefined, and floats
)

// Append appends the head of major type major (0–7) and argument n, in
// its shortest form, as the generic encoder writes it.
func Append(b []byte, major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return append(b, m|byte(n))
	case n <= math.MaxUint8:
		return append(b, m|24, byte(n))
	case n <= math.MaxUint16:
		return binary.BigEndian.AppendUint16(append(b, m|25), uint16(n))
	case n <= math.MaxUint32:
		return binary.BigEndian.AppendUint32(append(b, m|26), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, m|27), n)
}

// Read reads the head at the front of b, in any of its forms, and returns
// its major type, its argument and its size in bytes; ok is false if b
// does not start with a head of a definite length or value.
func Read(b []byte) (major byte, n uint64, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, 0, false
	}
	major, info := b[0]>>5, b[0]&31
	switch {
	case info < 24:
		return major, uint64(info), 1, true
	case info == 24 && len(b) >= 2:
		return major, uint64(b[1]), 2, true
	case info == 25 && len(b) >= 3:
		return major, uint64(binary.BigEndian.Uint16(b[1:])), 3, true
	case info == 26 && len(b) >= 5:
		return major, uint64(binary.BigEndian.Uint32(b[1:])), 5, true
	case info == 27 && len(b) >= 9:
		return major, binary.BigEndian.Uint64(b[1:]), 9, true
	}
	return 0, 0, 0, false
}
