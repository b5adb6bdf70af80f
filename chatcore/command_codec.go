package chatcore

import (
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
	"github.com/parleychat/parley/internal/cborhead"
)

// The codec of the apply path's hot records. Every send is encoded into a
// batch entry by its proposer, decoded by each replica's apply, stored as
// a storedMsg and answered with a batchItem, and the generic CBOR codec
// (reflection, a validity pass before each decode) did each step at 4% of
// a node's CPU under the throughput load. These functions do the same
// steps by hand, and stay byte for byte the generic codec:
//
//   - each encoder writes exactly the bytes cbor.Marshal writes for the
//     same value (fields in declaration order, omitempty, shortest
//     integers), so the stored format and the Raft log do not change;
//   - each decoder reads only the shape those encoders write (a definite
//     map of known keys in increasing order, shortest or longer integers,
//     exact lengths) and answers what cbor.Unmarshal answers for it. On
//     anything else it gives up and the caller decodes with cbor.Unmarshal,
//     so every input still decodes exactly as before.
//
// The fuzz targets in command_codec_fuzz_test.go hold them to both
// promises.

// Keys of roomCommand, batchItem and storedMsg (their cbor tags).
const (
	cmdKeyOp    = 1
	cmdKeyRoom  = 2
	cmdKeyUser  = 3
	cmdKeyID    = 4
	cmdKeyTS    = 5
	cmdKeyText  = 6
	cmdKeyBatch = 7
	cmdKeySeq   = 8

	itemKeySeq       = 1
	itemKeyTS        = 2
	itemKeyDuplicate = 3
	itemKeyReject    = 4

	msgKeyID   = 1
	msgKeyUser = 2
	msgKeyTS   = 3
	msgKeyText = 4
	msgKeyKind = 5
)

// cborMaxElements is the generic decoder's default bound on the elements
// of one array (DecOptions.MaxArrayElements): a longer array is its error,
// so the hand decoder leaves it to it.
const cborMaxElements = 131072

func appendInt(b []byte, v int64) []byte {
	if v >= 0 {
		return cborhead.Append(b, cborhead.Uint, uint64(v))
	}
	return cborhead.Append(b, cborhead.NegInt, uint64(-1-v))
}

func appendText(b []byte, s string) []byte {
	return append(cborhead.Append(b, cborhead.Text, uint64(len(s))), s...)
}

func appendBytes(b []byte, p []byte) []byte {
	return append(cborhead.Append(b, cborhead.Bytes, uint64(len(p))), p...)
}

// appendRoomCommand appends cmd as cbor.Marshal encodes it. A command with
// an import or a fence is not on the hot path: it goes to cbor.Marshal.
func appendRoomCommand(b []byte, cmd *roomCommand) ([]byte, error) {
	if cmd.Import != nil || cmd.Fence != nil {
		data, err := cbor.Marshal(cmd)
		return append(b, data...), err
	}
	n := 2 // Op and ID are never omitted
	for _, present := range [...]bool{cmd.Room != "", cmd.User != "", cmd.TS != 0, cmd.Text != "", len(cmd.Batch) > 0, cmd.Seq != 0} {
		if present {
			n++
		}
	}
	b = cborhead.Append(b, cborhead.Map, uint64(n))
	b = cborhead.Append(cborhead.Append(b, cborhead.Uint, cmdKeyOp), cborhead.Uint, uint64(cmd.Op))
	if cmd.Room != "" {
		b = appendText(cborhead.Append(b, cborhead.Uint, cmdKeyRoom), cmd.Room)
	}
	if cmd.User != "" {
		b = appendText(cborhead.Append(b, cborhead.Uint, cmdKeyUser), cmd.User)
	}
	b = appendBytes(cborhead.Append(b, cborhead.Uint, cmdKeyID), cmd.ID[:])
	if cmd.TS != 0 {
		b = appendInt(cborhead.Append(b, cborhead.Uint, cmdKeyTS), cmd.TS)
	}
	if cmd.Text != "" {
		b = appendText(cborhead.Append(b, cborhead.Uint, cmdKeyText), cmd.Text)
	}
	if len(cmd.Batch) > 0 {
		b = cborhead.Append(cborhead.Append(b, cborhead.Uint, cmdKeyBatch), cborhead.Array, uint64(len(cmd.Batch)))
		for i := range cmd.Batch {
			var err error
			if b, err = appendRoomCommand(b, &cmd.Batch[i]); err != nil {
				return b, err
			}
		}
	}
	if cmd.Seq != 0 {
		b = cborhead.Append(cborhead.Append(b, cborhead.Uint, cmdKeySeq), cborhead.Uint, cmd.Seq)
	}
	return b, nil
}

// encodeRoomCommand encodes cmd as cbor.Marshal does.
func encodeRoomCommand(cmd *roomCommand) ([]byte, error) {
	b, err := appendRoomCommand(make([]byte, 0, 64+len(cmd.Text)+len(cmd.Batch)*96), cmd)
	if err != nil {
		return nil, fmt.Errorf("command: encode: %w", err)
	}
	return b, nil
}

// decodeRoomCommand decodes data into cmd as cbor.Unmarshal does.
func decodeRoomCommand(data []byte, cmd *roomCommand) error {
	r := cborReader{b: data}
	if r.roomCommand(cmd, true) && r.end() {
		return nil
	}
	*cmd = roomCommand{}
	return cbor.Unmarshal(data, cmd)
}

// encodeStoredMsg encodes m as cbor.Marshal does.
func encodeStoredMsg(m *storedMsg) []byte {
	n := 4
	if m.Kind != "" {
		n++
	}
	b := make([]byte, 0, 48+len(m.User)+len(m.Text)+len(m.Kind))
	b = cborhead.Append(b, cborhead.Map, uint64(n))
	b = appendBytes(cborhead.Append(b, cborhead.Uint, msgKeyID), m.ID[:])
	b = appendText(cborhead.Append(b, cborhead.Uint, msgKeyUser), m.User)
	b = appendInt(cborhead.Append(b, cborhead.Uint, msgKeyTS), m.TS)
	b = appendText(cborhead.Append(b, cborhead.Uint, msgKeyText), m.Text)
	if m.Kind != "" {
		b = appendText(cborhead.Append(b, cborhead.Uint, msgKeyKind), m.Kind)
	}
	return b
}

// encodeBatchItems encodes items as cbor.Marshal does.
func encodeBatchItems(items []batchItem) []byte {
	b := make([]byte, 0, 4+len(items)*24)
	b = cborhead.Append(b, cborhead.Array, uint64(len(items)))
	for _, it := range items {
		n := 2
		if it.Duplicate {
			n++
		}
		if it.Reject != "" {
			n++
		}
		b = cborhead.Append(b, cborhead.Map, uint64(n))
		b = cborhead.Append(cborhead.Append(b, cborhead.Uint, itemKeySeq), cborhead.Uint, it.Seq)
		b = appendInt(cborhead.Append(b, cborhead.Uint, itemKeyTS), it.TS)
		if it.Duplicate {
			b = append(cborhead.Append(b, cborhead.Uint, itemKeyDuplicate), cborhead.Simple<<5|21) // true
		}
		if it.Reject != "" {
			b = appendText(cborhead.Append(b, cborhead.Uint, itemKeyReject), it.Reject)
		}
	}
	return b
}

// decodeBatchItems decodes data as cbor.Unmarshal into a []batchItem does.
func decodeBatchItems(data []byte) ([]batchItem, error) {
	r := cborReader{b: data}
	if items, ok := r.batchItems(); ok && r.end() {
		return items, nil
	}
	var items []batchItem
	err := cbor.Unmarshal(data, &items)
	return items, err
}

// cborReader reads the shapes the encoders above write. Each method
// reports false for anything else, and the caller then leaves the input
// to the generic decoder.
type cborReader struct {
	b   []byte
	off int
}

func (r *cborReader) end() bool { return r.off == len(r.b) }

// head reads a head of a definite length or value: its major type and
// argument.
func (r *cborReader) head() (major byte, arg uint64, ok bool) {
	major, arg, size, ok := cborhead.Read(r.b[r.off:])
	r.off += size
	return major, arg, ok
}

// uint reads an unsigned integer of at most max.
func (r *cborReader) uint(max uint64) (uint64, bool) {
	major, arg, ok := r.head()
	return arg, ok && major == cborhead.Uint && arg <= max
}

// int64 reads an integer that fits an int64.
func (r *cborReader) int64() (int64, bool) {
	major, arg, ok := r.head()
	if !ok || arg > math.MaxInt64 {
		return 0, false
	}
	switch major {
	case cborhead.Uint:
		return int64(arg), true
	case cborhead.NegInt:
		return -1 - int64(arg), true
	}
	return 0, false
}

// bytesOf reads a string of major type major and returns its content.
func (r *cborReader) bytesOf(major byte) ([]byte, bool) {
	m, n, ok := r.head()
	if !ok || m != major || n > uint64(len(r.b)-r.off) {
		return nil, false
	}
	p := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return p, true
}

// text reads a valid UTF-8 text string (the generic decoder refuses an
// invalid one).
func (r *cborReader) text() (string, bool) {
	p, ok := r.bytesOf(cborhead.Text)
	if !ok || !utf8.Valid(p) {
		return "", false
	}
	return string(p), true
}

// id reads a byte string of exactly 16 bytes.
func (r *cborReader) id(dst *[16]byte) bool {
	p, ok := r.bytesOf(cborhead.Bytes)
	if !ok || len(p) != len(dst) {
		return false
	}
	copy(dst[:], p)
	return true
}

// count reads the head of a definite array or map of at most
// cborMaxElements elements.
func (r *cborReader) count(major byte) (int, bool) {
	m, n, ok := r.head()
	return int(n), ok && m == major && n <= cborMaxElements
}

// keyOrder reads a map's keys in strictly increasing order: each call to
// next reads one key and says whether it is greater than the one before.
type keyOrder struct{ last uint64 }

func (k *keyOrder) next(r *cborReader) (uint64, bool) {
	key, ok := r.uint(math.MaxUint64)
	if !ok || key <= k.last {
		return 0, false
	}
	k.last = key
	return key, true
}

// roomCommand reads a command without an import or a fence; a batch's
// sends (nested is false) may not hold a batch of their own.
func (r *cborReader) roomCommand(cmd *roomCommand, nested bool) bool {
	n, ok := r.count(cborhead.Map)
	if !ok {
		return false
	}
	var keys keyOrder
	for range n {
		key, ok := keys.next(r)
		if !ok {
			return false
		}
		switch key {
		case cmdKeyOp:
			op, ok := r.uint(math.MaxUint8)
			if !ok {
				return false
			}
			cmd.Op = uint8(op)
		case cmdKeyRoom:
			cmd.Room, ok = r.text()
		case cmdKeyUser:
			cmd.User, ok = r.text()
		case cmdKeyID:
			ok = r.id(&cmd.ID)
		case cmdKeyTS:
			cmd.TS, ok = r.int64()
		case cmdKeyText:
			cmd.Text, ok = r.text()
		case cmdKeyBatch:
			ok = nested && r.batch(cmd)
		case cmdKeySeq:
			cmd.Seq, ok = r.uint(math.MaxUint64)
		default:
			return false
		}
		if !ok {
			return false
		}
	}
	return true
}

func (r *cborReader) batch(cmd *roomCommand) bool {
	n, ok := r.count(cborhead.Array)
	if !ok || n > len(r.b)-r.off { // each element takes a byte at least
		return false
	}
	cmd.Batch = make([]roomCommand, n)
	for i := range cmd.Batch {
		if !r.roomCommand(&cmd.Batch[i], false) {
			return false
		}
	}
	return true
}

func (r *cborReader) batchItems() ([]batchItem, bool) {
	n, ok := r.count(cborhead.Array)
	if !ok || n > len(r.b)-r.off {
		return nil, false
	}
	items := make([]batchItem, n)
	for i := range items {
		m, ok := r.count(cborhead.Map)
		if !ok {
			return nil, false
		}
		var keys keyOrder
		it := &items[i]
		for range m {
			key, ok := keys.next(r)
			if !ok {
				return nil, false
			}
			switch key {
			case itemKeySeq:
				it.Seq, ok = r.uint(math.MaxUint64)
			case itemKeyTS:
				it.TS, ok = r.int64()
			case itemKeyDuplicate:
				it.Duplicate, ok = r.bool()
			case itemKeyReject:
				it.Reject, ok = r.text()
			default:
				return nil, false
			}
			if !ok {
				return nil, false
			}
		}
	}
	return items, true
}

// bool reads false or true.
func (r *cborReader) bool() (bool, bool) {
	if r.off >= len(r.b) {
		return false, false
	}
	switch r.b[r.off] {
	case cborhead.Simple<<5 | 20:
		r.off++
		return false, true
	case cborhead.Simple<<5 | 21:
		r.off++
		return true, true
	}
	return false, false
}
