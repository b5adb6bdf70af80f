package chatcore

import (
	"bytes"
	"reflect"
	"testing"
	"unicode/utf8"

	"github.com/fxamacker/cbor/v2"
)

// The hand codec must write exactly what cbor.Marshal writes, and decode
// exactly as cbor.Unmarshal decodes: these targets compare the two on
// fuzzed values and on fuzzed bytes.

func codecSeeds(f *testing.F) {
	send := roomCommand{Op: roomOpSend, Room: "general", User: "ann", ID: [16]byte{1, 2, 3}, TS: 1_764_000_000_000_000_000, Text: "hi"}
	batch := roomCommand{Op: roomOpBatch, Batch: []roomCommand{send, {Op: roomOpSend, Room: "r", User: "bo", TS: -5, Text: "é"}}}
	for _, c := range []roomCommand{send, batch, {Op: roomOpRead, Room: "x", User: "y", Seq: 1 << 40}, {}} {
		data, err := cbor.Marshal(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	items, err := cbor.Marshal([]batchItem{{Seq: 1, TS: 2}, {Seq: 300, TS: -1, Duplicate: true}, {Reject: "invalid send"}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(items)
	f.Add([]byte{0xa1, 0x01, 0x18, 0x04})       // Op in a longer head than needed
	f.Add([]byte{0xa2, 0x02, 0x60, 0x01, 0x01}) // keys out of order
	f.Add([]byte{0xbf, 0x01, 0x01, 0xff})       // an indefinite map
}

// FuzzDecodeRoomCommand: wherever the hand decoder answers, it answers as
// cbor.Unmarshal does; elsewhere decodeRoomCommand is cbor.Unmarshal.
func FuzzDecodeRoomCommand(f *testing.F) {
	codecSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast roomCommand
		r := cborReader{b: data}
		handled := r.roomCommand(&fast, true) && r.end()
		var want roomCommand
		wantErr := cbor.Unmarshal(data, &want)
		if handled {
			if wantErr != nil {
				t.Fatalf("hand decoder took %x, cbor.Unmarshal refuses it: %v", data, wantErr)
			}
			if !reflect.DeepEqual(fast, want) {
				t.Fatalf("%x: hand decoder %+v, cbor.Unmarshal %+v", data, fast, want)
			}
		}
		var got roomCommand
		err := decodeRoomCommand(data, &got)
		if (err != nil) != (wantErr != nil) || !reflect.DeepEqual(got, want) {
			t.Fatalf("%x: decodeRoomCommand %+v (%v), cbor.Unmarshal %+v (%v)", data, got, err, want, wantErr)
		}
	})
}

// FuzzDecodeBatchItems is FuzzDecodeRoomCommand for a batch's result.
func FuzzDecodeBatchItems(f *testing.F) {
	codecSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		r := cborReader{b: data}
		fast, ok := r.batchItems()
		handled := ok && r.end()
		var want []batchItem
		wantErr := cbor.Unmarshal(data, &want)
		if handled && (wantErr != nil || !reflect.DeepEqual(fast, want)) {
			t.Fatalf("%x: hand decoder %+v, cbor.Unmarshal %+v (%v)", data, fast, want, wantErr)
		}
		got, err := decodeBatchItems(data)
		if (err != nil) != (wantErr != nil) || (err == nil && !reflect.DeepEqual(got, want)) {
			t.Fatalf("%x: decodeBatchItems %+v (%v), cbor.Unmarshal %+v (%v)", data, got, err, want, wantErr)
		}
	})
}

// FuzzEncodeCommands builds a batch of two sends, a storedMsg and batch
// items from fuzzed fields: the hand encoders write cbor.Marshal's bytes,
// and the hand decoders read them back.
func FuzzEncodeCommands(f *testing.F) {
	f.Add(uint8(roomOpSend), "general", "ann", []byte{1, 2, 3}, int64(1_764_000_000_000_000_000), "hi", uint64(0), "", true)
	f.Add(uint8(0), "", "", []byte{}, int64(-1<<63), "", uint64(1<<63), "notice", false)
	f.Fuzz(func(t *testing.T, op uint8, room, user string, id []byte, ts int64, text string, seq uint64, kind string, dup bool) {
		var mid [16]byte
		copy(mid[:], id)
		one := roomCommand{Op: op, Room: room, User: user, ID: mid, TS: ts, Text: text, Seq: seq}
		for _, cmd := range []roomCommand{one, {Op: roomOpBatch, Batch: []roomCommand{one, {Op: roomOpSend, Text: text}}}} {
			want, err := cbor.Marshal(cmd)
			if err != nil {
				t.Fatal(err)
			}
			got, err := encodeRoomCommand(&cmd)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%+v: encodeRoomCommand %x (%v), cbor.Marshal %x", cmd, got, err, want)
			}
			var back roomCommand
			if err := decodeRoomCommand(got, &back); err == nil && !reflect.DeepEqual(back, cmd) {
				t.Fatalf("%+v decoded back as %+v", cmd, back)
			}
			// What the encoder writes, the hand decoder reads itself.
			if utf8.ValidString(room) && utf8.ValidString(user) && utf8.ValidString(text) {
				var fast roomCommand
				if r := (cborReader{b: got}); !r.roomCommand(&fast, true) || !r.end() {
					t.Fatalf("%x (%+v): left to the generic decoder", got, cmd)
				}
			}
		}
		m := storedMsg{ID: mid, User: user, TS: ts, Text: text, Kind: kind}
		want, err := cbor.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if got := encodeStoredMsg(&m); !bytes.Equal(got, want) {
			t.Fatalf("%+v: encodeStoredMsg %x, cbor.Marshal %x", m, got, want)
		}
		items := []batchItem{{Seq: seq, TS: ts, Duplicate: dup, Reject: kind}, {}}
		want, err = cbor.Marshal(items)
		if err != nil {
			t.Fatal(err)
		}
		got := encodeBatchItems(items)
		if !bytes.Equal(got, want) {
			t.Fatalf("%+v: encodeBatchItems %x, cbor.Marshal %x", items, got, want)
		}
		if back, err := decodeBatchItems(got); err == nil && !reflect.DeepEqual(back, items) {
			t.Fatalf("%+v decoded back as %+v", items, back)
		}
		if r := (cborReader{b: got}); utf8.ValidString(kind) {
			if _, ok := r.batchItems(); !ok || !r.end() {
				t.Fatalf("%x (%+v): left to the generic decoder", got, items)
			}
		}
	})
}
