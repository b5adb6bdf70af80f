package parley

import (
	"math"
	"unicode/utf8"

	"github.com/parleychat/parley/internal/cborhead"
)

// A subscriber decodes every message of its room, so decoding a message is
// most of what a busy feed costs a client. Messages arrive in the one form
// Marshal writes them (a map whose integer keys 1 to 7 come in order), and
// that form is read here directly, without reflection and without the
// generic decoder's second pass over the bytes. Anything else, including
// every malformed input, is left to the generic decoder, so the result
// (value or error) is always the one Unmarshal gives; FuzzDecodeMessage
// checks that.

// DecodeCanonicalMessage decodes data, exactly one CBOR item, into m if it
// is a Message in the form Marshal writes, and reports whether it did. On
// false m is unchanged and the caller decodes data with Unmarshal, which
// then gives the value or the error. Strings equal to m's own (the message
// decoded before, when m is reused) are kept rather than copied again.
func DecodeCanonicalMessage(data []byte, m *Message) bool {
	d := canonDecoder{b: data}
	pairs, ok := d.head(cborhead.Map)
	if !ok || pairs < 6 || pairs > 7 {
		return false
	}
	var w Message
	var ts int64
	if !d.key(1) || !d.text(&w.Room, m.Room) ||
		!d.key(2) || !d.uint(&w.Seq) ||
		!d.key(3) || !d.msgID(&w.ID) ||
		!d.key(4) || !d.text(&w.User, m.User) ||
		!d.key(5) || !d.int(&ts) ||
		!d.key(6) || !d.text(&w.Text, "") {
		return false
	}
	if pairs == 7 && (!d.key(7) || !d.text(&w.Kind, m.Kind)) {
		return false
	}
	if len(d.b) != 0 {
		return false
	}
	w.TS = UnixTime(ts)
	*m = w
	return true
}

// canonDecoder reads definite-length CBOR items from the front of b; every
// method reports false, consuming nothing useful, on anything unexpected.
type canonDecoder struct{ b []byte }

// head reads an item's head of major type major and returns its argument.
func (d *canonDecoder) head(major byte) (uint64, bool) {
	m, n, size, ok := cborhead.Read(d.b)
	if !ok || m != major {
		return 0, false
	}
	d.b = d.b[size:]
	return n, true
}

// key reads the map key k.
func (d *canonDecoder) key(k uint64) bool {
	v, ok := d.head(cborhead.Uint)
	return ok && v == k
}

func (d *canonDecoder) uint(dst *uint64) bool {
	v, ok := d.head(cborhead.Uint)
	*dst = v
	return ok
}

// int reads an integer that fits int64, positive or negative.
func (d *canonDecoder) int(dst *int64) bool {
	if len(d.b) > 0 && d.b[0]>>5 == cborhead.NegInt {
		v, ok := d.head(cborhead.NegInt)
		if !ok || v > math.MaxInt64 {
			return false
		}
		*dst = -1 - int64(v)
		return true
	}
	v, ok := d.head(cborhead.Uint)
	if !ok || v > math.MaxInt64 {
		return false
	}
	*dst = int64(v)
	return true
}

// text reads a text string, which must be valid UTF-8. A string equal to
// prev is prev, not a new copy: a feed's messages share their room, and
// often their sender, with the message before.
func (d *canonDecoder) text(dst *string, prev string) bool {
	n, ok := d.head(cborhead.Text)
	if !ok || n > uint64(len(d.b)) {
		return false
	}
	s := d.b[:n]
	if !utf8.Valid(s) {
		return false
	}
	d.b = d.b[n:]
	if string(s) == prev {
		*dst = prev
	} else {
		*dst = string(s)
	}
	return true
}

// msgID reads an id in one of the two forms MsgID.UnmarshalCBOR accepts:
// a 16-byte string with its length in the head's short or one-byte form.
func (d *canonDecoder) msgID(dst *MsgID) bool {
	n := len(dst)
	switch {
	case len(d.b) >= 1+n && d.b[0] == 0x40|byte(n):
		d.b = d.b[1:]
	case len(d.b) >= 2+n && d.b[0] == 0x58 && d.b[1] == byte(n):
		d.b = d.b[2:]
	default:
		return false
	}
	copy(dst[:], d.b[:n])
	d.b = d.b[n:]
	return true
}
