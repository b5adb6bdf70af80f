package parley

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// MsgID is a 128-bit message id made by the client: 48 bits of Unix
// milliseconds then 80 random bits, so ids sort by creation time (ULID
// layout). It is printed in Crockford base32, 26 characters.
type MsgID [16]byte

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewMsgID returns a fresh id for time t.
func NewMsgID(t time.Time) MsgID {
	var id MsgID
	ms := uint64(t.UnixMilli())
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], ms)
	copy(id[:6], ts[2:])
	if _, err := rand.Read(id[6:]); err != nil {
		panic(fmt.Sprintf("msgid: %v", err))
	}
	return id
}

// IsZero reports whether id is all zeros (never a valid id).
func (id MsgID) IsZero() bool { return id == MsgID{} }

// String returns the 26-character Crockford base32 form.
func (id MsgID) String() string {
	var out [26]byte
	// 128 bits as 26 groups of 5 bits, most significant first; the first
	// group carries the top 3 bits.
	hi := binary.BigEndian.Uint64(id[:8])
	lo := binary.BigEndian.Uint64(id[8:])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// MarshalText implements encoding.TextMarshaler (used by JSON output).
func (id MsgID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalCBOR implements cbor.Unmarshaler: an id must be a byte string of
// exactly 16 bytes. (Without it a shorter or longer byte string would be
// silently zero-padded or truncated into the array.) The item is read in
// place: a 16-byte string is the header 0x50 (or its long form 0x58 0x10)
// and the bytes, so no second decoder pass is needed.
func (id *MsgID) UnmarshalCBOR(data []byte) error {
	var b []byte
	switch {
	case len(data) == 1+len(id) && data[0] == 0x40|byte(len(id)):
		b = data[1:]
	case len(data) == 2+len(id) && data[0] == 0x58 && data[1] == byte(len(id)):
		b = data[2:]
	default:
		return fmt.Errorf("msgid: not a %d-byte string: %w", len(id), ErrMalformed)
	}
	copy(id[:], b)
	return nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (id *MsgID) UnmarshalText(b []byte) error {
	parsed, err := ParseMsgID(string(b))
	if err != nil {
		return err
	}
	*id = parsed
	return nil
}

// ParseMsgID parses the 26-character form.
func ParseMsgID(s string) (MsgID, error) {
	var id MsgID
	if len(s) != 26 {
		return id, fmt.Errorf("msgid: %q: %w", s, errBadMsgID)
	}
	var hi, lo uint64
	for i := 0; i < 26; i++ {
		v := strings.IndexByte(crockford, upper(s[i]))
		if v < 0 || (i == 0 && v > 7) {
			return id, fmt.Errorf("msgid: %q: %w", s, errBadMsgID)
		}
		hi = hi<<5 | lo>>59
		lo = lo<<5 | uint64(v)
	}
	binary.BigEndian.PutUint64(id[:8], hi)
	binary.BigEndian.PutUint64(id[8:], lo)
	return id, nil
}

var errBadMsgID = errors.New("not a 26-character base32 message id")

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}
