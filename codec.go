package parley

import (
	"bytes"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// Parley's values travel as CBOR: deterministic on the way out, and decoded
// with limits on the way in. Decoding limits for every CBOR item that
// arrives from the network are far above what any legitimate Parley message
// needs and far below what would let a peer make a node allocate without
// bound.
const (
	// MaxNestedLevels bounds how deeply arrays and maps may nest.
	MaxNestedLevels = 16
	// MaxArrayElements bounds the length of one array.
	MaxArrayElements = 4096
	// MaxMapPairs bounds the size of one map.
	MaxMapPairs = 256
)

var (
	encMode cbor.UserBufferEncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	encMode, err = cbor.CoreDetEncOptions().UserBufferEncMode()
	if err != nil {
		panic(fmt.Sprintf("parley: cbor encoder: %v", err))
	}
	decMode, err = cbor.DecOptions{
		MaxNestedLevels:  MaxNestedLevels,
		MaxArrayElements: MaxArrayElements,
		MaxMapPairs:      MaxMapPairs,
		IndefLength:      cbor.IndefLengthForbidden,
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		TagsMd:           cbor.TagsForbidden,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic(fmt.Sprintf("parley: cbor decoder: %v", err))
	}
}

// Marshal encodes v as one deterministic CBOR item.
func Marshal(v any) ([]byte, error) {
	b, err := encMode.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return b, nil
}

// MarshalTo appends v, encoded as Marshal encodes it, to buf: a caller that
// frames or wraps the item encodes it once, into a buffer it reuses.
func MarshalTo(buf *bytes.Buffer, v any) error {
	if err := encMode.MarshalToBuffer(v, buf); err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	return nil
}

// Unmarshal decodes exactly one CBOR item into v with the network limits:
// bounded nesting, array and map sizes, no indefinite lengths, no tags, no
// duplicate map keys, valid UTF-8 only. Trailing bytes are an error.
func Unmarshal(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}
