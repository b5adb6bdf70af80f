package cborhead

import (
	"bytes"
	"math"
	"testing"

	"github.com/fxamacker/cbor/v2"
)

// TestAppendIsTheGenericEncoders checks Append against cbor.Marshal of an
// unsigned integer (major type 0) and a text string's length (major type
// 3) at every boundary of the head's forms, and Read against both.
func TestAppendIsTheGenericEncoders(t *testing.T) {
	for _, n := range []uint64{0, 23, 24, math.MaxUint8, math.MaxUint8 + 1, math.MaxUint16, math.MaxUint16 + 1, math.MaxUint32, math.MaxUint32 + 1, math.MaxUint64} {
		want, err := cbor.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		got := Append(nil, 0, n)
		if !bytes.Equal(got, want) {
			t.Errorf("Append(0, %d) = %x, cbor.Marshal %x", n, got, want)
		}
		major, arg, size, ok := Read(append(got, 0xff))
		if !ok || major != 0 || arg != n || size != len(got) {
			t.Errorf("Read(%x) = %d, %d, %d, %v", got, major, arg, size, ok)
		}
	}
	if s, _ := cbor.Marshal(string(make([]byte, 300))); !bytes.Equal(Append(nil, 3, 300), s[:3]) {
		t.Errorf("text head of 300 bytes: %x, cbor.Marshal %x", Append(nil, 3, 300), s[:3])
	}
	for _, b := range [][]byte{nil, {0x18}, {0x19, 1}, {0x1a, 1, 2, 3}, {0x1b, 1}, {0x1c}, {0x1f}, {0x9f}} {
		if _, _, _, ok := Read(b); ok {
			t.Errorf("Read(%x) took a short, reserved or indefinite head", b)
		}
	}
}
