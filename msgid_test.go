package parley

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMsgIDRoundTrip(t *testing.T) {
	for i := range 1000 {
		id := NewMsgID(time.UnixMilli(int64(i) * 7919 * 1e6))
		s := id.String()
		if len(s) != 26 {
			t.Fatalf("%q: length %d", s, len(s))
		}
		got, err := ParseMsgID(s)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got != id {
			t.Fatalf("%q parsed as %x, want %x", s, got, id)
		}
		lower, err := ParseMsgID(strings.ToLower(s))
		if err != nil || lower != id {
			t.Fatalf("lower case %q: %x, %v", strings.ToLower(s), lower, err)
		}
		text, err := id.MarshalText()
		if err != nil || string(text) != s {
			t.Fatalf("MarshalText = %q, %v", text, err)
		}
	}
	for _, id := range []MsgID{{}, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		got, err := ParseMsgID(id.String())
		if err != nil || got != id {
			t.Fatalf("%s: %x, %v", id, got, err)
		}
	}
	if s := (MsgID{}).String(); s != strings.Repeat("0", 26) {
		t.Errorf("zero id is %q", s)
	}
	if s := (MsgID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}).String(); s != "7"+strings.Repeat("Z", 25) {
		t.Errorf("max id is %q", s)
	}
}

func TestMsgIDOrderedByTime(t *testing.T) {
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	var ids []MsgID
	var strs []string
	for i := range 200 {
		id := NewMsgID(base.Add(time.Duration(i) * time.Millisecond))
		ids = append(ids, id)
		strs = append(strs, id.String())
	}
	if !slices.IsSortedFunc(ids, func(a, b MsgID) int { return bytes.Compare(a[:], b[:]) }) {
		t.Error("ids not in time order as bytes")
	}
	if !slices.IsSorted(strs) {
		t.Error("ids not in time order as strings")
	}
	if NewMsgID(base).IsZero() {
		t.Error("fresh id is zero")
	}
	if !(MsgID{}).IsZero() {
		t.Error("zero id is not zero")
	}
	// Same millisecond: same time prefix, different random part.
	a, b := NewMsgID(base), NewMsgID(base)
	if a == b || !bytes.Equal(a[:6], b[:6]) {
		t.Errorf("same-ms ids %x %x", a, b)
	}
}

func TestParseMsgIDRejectsBadInput(t *testing.T) {
	good := NewMsgID(time.Now()).String()
	for _, bad := range []string{
		"",
		good[:25],
		good + "0",
		"8" + good[1:], // more than 128 bits
		"Z" + good[1:],
		good[:10] + "U" + good[11:], // U is not Crockford
		good[:10] + "I" + good[11:],
		good[:10] + "-" + good[11:],
		good[:10] + "é" + good[12:],
	} {
		if _, err := ParseMsgID(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMsgIDCBOR(t *testing.T) {
	id := NewMsgID(time.Now())
	b, err := Marshal(id)
	if err != nil {
		t.Fatal(err)
	}
	var got MsgID
	if err := Unmarshal(b, &got); err != nil || got != id {
		t.Fatalf("round trip %x, %v", got, err)
	}
	for _, bad := range []any{id[:15], append(id[:], 0), "0123456789ABCDEFGHJKMNPQRS", nil, 7} {
		b, err := Marshal(bad)
		if err != nil {
			t.Fatal(err)
		}
		var got MsgID
		if err := Unmarshal(b, &got); err == nil {
			t.Errorf("%#v decoded as a message id: %x", bad, got)
		}
	}
	// Inside a message, a wrong-sized id is malformed input.
	b, err = Marshal(map[int]any{1: "room", 2: id[:8], 3: "hi"})
	if err != nil {
		t.Fatal(err)
	}
	var req struct {
		Room string `cbor:"1,keyasint"`
		ID   MsgID  `cbor:"2,keyasint"`
		Text string `cbor:"3,keyasint"`
	}
	if err := Unmarshal(b, &req); !errors.Is(err, ErrMalformed) {
		t.Errorf("short id in a request: %v, want ErrMalformed", err)
	}
}
