package parley

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// genericMessage decodes data as the generic decoder alone does.
func genericMessage(data []byte) (Message, error) {
	var w messageWire
	if err := Unmarshal(data, &w); err != nil {
		return Message{}, err
	}
	return Message{Room: w.Room, Seq: w.Seq, ID: w.ID, User: w.User, TS: UnixTime(w.TS), Text: w.Text, Kind: w.Kind}, nil
}

// FuzzDecodeMessage checks that DecodeCanonicalMessage accepts only what
// the generic decoder accepts, and then gives the same message, and that
// it reads every message Marshal writes.
func FuzzDecodeMessage(f *testing.F) {
	id := NewMsgID(time.UnixMilli(1740830400000))
	for _, m := range []Message{
		{Room: "general", Seq: 1, ID: id, User: "ann", TS: UnixTime(1740830400123456789), Text: "hi"},
		{Room: "r", Seq: 1 << 40, ID: id, User: "bob", TS: UnixTime(-5), Text: strings.Repeat("é", 300), Kind: KindJoin},
		{Room: "dm:ann:bob", Seq: 23, ID: id, User: "ann", TS: UnixTime(0), Text: ""},
	} {
		b, err := Marshal(m)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{0xa6})
	f.Add([]byte{0xa7, 0x01, 0x60})

	f.Fuzz(func(t *testing.T, data []byte) {
		want, werr := genericMessage(data)
		var got Message
		if DecodeCanonicalMessage(data, &got) {
			if werr != nil {
				t.Fatalf("% x: canonical decoding accepts what the generic refuses: %v", data, werr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("% x: canonical %+v, generic %+v", data, got, want)
			}
		} else if got != (Message{}) {
			t.Fatalf("% x: refused but changed the message: %+v", data, got)
		}
		// UnmarshalCBOR, fast path or not, agrees with the generic decoder.
		var um Message
		uerr := um.UnmarshalCBOR(data)
		if (uerr == nil) != (werr == nil) || (uerr == nil && !reflect.DeepEqual(um, want)) {
			t.Fatalf("% x: UnmarshalCBOR %+v, %v; generic %+v, %v", data, um, uerr, want, werr)
		}
		// What the generic decoder reads, written back by Marshal, is read
		// by the canonical decoder.
		if werr == nil {
			b, err := Marshal(want)
			if err != nil {
				t.Fatal(err)
			}
			var again Message
			if !DecodeCanonicalMessage(b, &again) || !reflect.DeepEqual(again, want) {
				t.Fatalf("% x: Marshal's form of %+v not read back: %+v", b, want, again)
			}
		}
	})
}

// TestDecodeCanonicalMessageRefuses lists near-misses that must go to the
// generic decoder.
func TestDecodeCanonicalMessageRefuses(t *testing.T) {
	m := Message{Room: "general", Seq: 7, ID: NewMsgID(time.Now()), User: "ann", TS: time.Unix(1, 2).UTC(), Text: "hi"}
	good, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var got Message
	if !DecodeCanonicalMessage(good, &got) || !reflect.DeepEqual(got, m) {
		t.Fatalf("canonical form not read: %+v", got)
	}
	bad := map[string][]byte{
		"trailing byte": append(append([]byte{}, good...), 0x00),
		"truncated":     good[:len(good)-1],
		"five pairs":    append([]byte{0xa5}, good[1:]...),
		"indefinite":    append([]byte{0xbf}, good[1:]...),
		"invalid utf-8": []byte(strings.Replace(string(good), "ann", "a\xffn", 1)),
	}
	for name, data := range bad {
		t.Run(name, func(t *testing.T) {
			var m Message
			if DecodeCanonicalMessage(data, &m) {
				t.Fatalf("% x read as %+v", data, m)
			}
			if name != "five pairs" {
				if err := m.UnmarshalCBOR(data); err == nil {
					t.Fatalf("% x decoded", data)
				}
			}
		})
	}
}
