package parley

import (
	"bytes"
	"cmp"
	"strings"
	"testing"
	"time"
)

// FuzzMsgID checks the text and CBOR forms of message ids on any input.
func FuzzMsgID(f *testing.F) {
	for _, ms := range []int64{0, 1, 1740830400000, 1<<48 - 1} {
		id := NewMsgID(time.UnixMilli(ms))
		f.Add(id.String(), id[:])
		f.Add(strings.ToLower(id.String()), append(id[:], id[:]...))
	}
	f.Add("", []byte{})
	f.Add("8ZZZZZZZZZZZZZZZZZZZZZZZZZ", []byte{0xff})

	f.Fuzz(func(t *testing.T, s string, raw []byte) {
		if id, err := ParseMsgID(s); err == nil {
			if got := id.String(); got != strings.ToUpper(s) {
				t.Fatalf("ParseMsgID(%q).String() = %q", s, got)
			}
		} else if len(s) == 26 && strings.ToUpper(s) != s {
			// Case never decides validity.
			if _, err2 := ParseMsgID(strings.ToUpper(s)); err2 == nil {
				t.Fatalf("%q refused but its upper case accepted", s)
			}
		}

		var a, b MsgID
		copy(a[:], raw)
		if len(raw) > 16 {
			copy(b[:], raw[16:])
		}
		for _, id := range []MsgID{a, b} {
			got, err := ParseMsgID(id.String())
			if err != nil || got != id {
				t.Fatalf("%x: String %q parsed as %x, %v", id, id.String(), got, err)
			}
		}
		// The text form sorts like the bytes.
		if cmp.Compare(a.String(), b.String()) != bytes.Compare(a[:], b[:]) {
			t.Fatalf("%x < %x differs from %s < %s", a, b, a, b)
		}
		// Decoded from the network, raw is an id only as a 16-byte string,
		// and then it encodes back to the same id.
		var got MsgID
		if err := Unmarshal(raw, &got); err == nil {
			again, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var back MsgID
			if err := Unmarshal(again, &back); err != nil || back != got {
				t.Fatalf("%x decoded as %x, which does not round trip: %x, %v", raw, got, back, err)
			}
		}
	})
}
