package transport

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/parleychat/parley"
)

// fuzzMaxFrame is the frame limit of the fuzz target: small, so that the
// fuzzer also explores the too-large path.
const fuzzMaxFrame = 512

// fuzzTargets makes a fresh value of each type a peer's frame is decoded
// into.
var fuzzTargets = []func() any{
	func() any { return new(Hello) },
	func() any { return new(Welcome) },
	func() any { return new(Request) },
	func() any { return new(Response) },
	func() any { return new(SendRequest) },
	func() any { return new(SendResponse) },
	func() any { return new(HistoryRequest) },
	func() any { return new(HistoryResponse) },
	func() any { return new(SubscribeRequest) },
	func() any { return new(SubscribeResponse) },
	func() any { return new(SubscribeHeader) },
	func() any { return new(Event) },
	func() any { return new(StatusRequest) },
	func() any { return new(StatusResponse) },
	func() any { return new(AdmitRequest) },
	func() any { return new(AdmitResponse) },
	func() any { return new(parley.MsgID) },
	func() any { return new(JoinRoomRequest) },
	func() any { return new(LeaveRoomRequest) },
	func() any { return new(RoomsRequest) },
	func() any { return new(RoomsResponse) },
	func() any { return new(WhoRequest) },
	func() any { return new(WhoResponse) },
	func() any { return new(PresenceRequest) },
	func() any { return new(PresenceResponse) },
	func() any { return new(PingRequest) },
	func() any { return new(AdminRequest) },
	func() any { return new(AdminResponse) },
	func() any { return new(ForwardedRequest) },
	func() any { return new(ReadRequest) },
	func() any { return new(ReadResponse) },
	func() any { return new(TypingRequest) },
	func() any { return new(Typing) },
	func() any { return new(Error) },
	func() any { return new(ExportRequest) },
	func() any { return new(ExportResponse) },
	func() any { return new(ExportEvent) },
	func() any { return new(BackupReadRequest) },
	func() any { return new(BackupReadResponse) },
	func() any { return new(ImportRequest) },
	func() any { return new(ImportResponse) },
	func() any { return new(RegistryMemberRequest) },
	func() any { return new(RegistryMemberResponse) },
}

func FuzzFrameReader(f *testing.F) {
	var all bytes.Buffer
	for _, m := range sampleMessages(f) {
		var one bytes.Buffer
		if err := WriteFrame(&one, m, DefaultMaxFrame); err != nil {
			f.Fatal(err)
		}
		f.Add(one.Bytes())
		all.Write(one.Bytes())
	}
	f.Add(all.Bytes())
	f.Add([]byte{})
	f.Add([]byte{0x00})
	f.Add([]byte{0x05, 0xbf, 0x01, 0x01, 0xff, 0x00})
	f.Add([]byte{0x05, 0xa2, 0x01, 0x01, 0x01, 0x02})
	f.Add(bytes.Repeat([]byte{0xff}, 11))

	f.Fuzz(func(t *testing.T, in []byte) {
		// Every error is classified: the stream ended, a frame was too large,
		// or its content was malformed.
		fr := NewFrameReader(bytes.NewReader(in), fuzzMaxFrame)
		for {
			var req Request
			err := fr.Read(&req)
			if err == nil {
				continue
			}
			if err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrFrameTooLarge) && !errors.Is(err, parley.ErrMalformed) {
				t.Fatalf("unclassified error: %v", err)
			}
			if !errors.Is(err, parley.ErrMalformed) {
				break
			}
		}

		fr = NewFrameReader(bytes.NewReader(in), fuzzMaxFrame)
		for {
			body, err := fr.ReadRaw()
			if err != nil {
				return
			}
			if len(body) == 0 || len(body) > fuzzMaxFrame || cap(body) > fuzzMaxFrame {
				t.Fatalf("frame of %d bytes (cap %d), max %d", len(body), cap(body), fuzzMaxFrame)
			}
			for _, target := range fuzzTargets {
				checkDecode(t, body, target)
			}
			var v any
			_ = parley.Unmarshal(body, &v)
		}
	})
}

// checkDecode decodes body into a fresh value; if that works, the value must
// survive an encode and decode unchanged, or changed only in what encodes
// the same (an empty list the sender wrote out comes back as no list when
// the field is omitempty).
func checkDecode(t *testing.T, body []byte, target func() any) {
	v := target()
	if err := parley.Unmarshal(body, v); err != nil {
		return
	}
	again, err := parley.Marshal(v)
	if err != nil {
		t.Fatalf("%T decoded but does not encode: %v", v, err)
	}
	w := target()
	if err := parley.Unmarshal(again, w); err != nil {
		t.Fatalf("%T re-encoded as %x does not decode: %v", v, again, err)
	}
	if reflect.DeepEqual(v, w) {
		return
	}
	third, err := parley.Marshal(w)
	if err != nil || !bytes.Equal(third, again) {
		t.Fatalf("%T changed in a round trip: %+v then %+v", v, v, w)
	}
}
