package transport

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// sameEvents reads in with Read and with ReadEvent side by side and fails
// unless every step gives the same event or the same kind of error.
func sameEvents(t *testing.T, in []byte, max int) {
	t.Helper()
	slow := NewFrameReader(bytes.NewReader(in), max)
	fast := NewFrameReader(bytes.NewReader(in), max)
	for i := 0; ; i++ {
		var want Event
		werr := slow.Read(&want)
		got, gerr := fast.ReadEvent()
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("frame %d: Read: %v; ReadEvent: %v", i, werr, gerr)
		}
		if werr != nil {
			for _, kind := range []error{ErrFrameTooLarge, parley.ErrMalformed, errors.ErrUnsupported} {
				if errors.Is(werr, kind) != errors.Is(gerr, kind) {
					t.Fatalf("frame %d: Read: %v; ReadEvent: %v", i, werr, gerr)
				}
			}
			if werr.Error() != gerr.Error() {
				t.Fatalf("frame %d: Read: %q; ReadEvent: %q", i, werr, gerr)
			}
			if !errors.Is(werr, parley.ErrMalformed) {
				return
			}
			continue
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("frame %d: Read %+v; ReadEvent %+v", i, want, got)
		}
	}
}

// FuzzReadEvent checks that ReadEvent reads any stream exactly as Read of
// Events does: the same events, the same errors.
func FuzzReadEvent(f *testing.F) {
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
	f.Add([]byte{0x03, 0xa1, 0x01, 0xa6})
	f.Add([]byte{0x02, 0xa1, 0x01})
	f.Fuzz(func(t *testing.T, in []byte) {
		sameEvents(t, in, fuzzMaxFrame)
	})
}

// TestReadEvent reads message events, small and larger than the reader's
// buffer, an error event, and a cut stream, as Read does; a kept message
// stays as it was when the next one is read.
func TestReadEvent(t *testing.T) {
	id := parley.NewMsgID(time.Now())
	var in bytes.Buffer
	var msgs []parley.Message
	for i, text := range []string{"hi", strings.Repeat("x", 10000), "", "ü"} {
		m := parley.Message{Room: "general", Seq: uint64(i + 1), ID: id, User: "ann", TS: parley.UnixTime(int64(i)), Text: text}
		msgs = append(msgs, m)
		if err := WriteFrame(&in, Event{Msg: &m}, DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteFrame(&in, Event{Error: &Error{Code: CodeForbidden, Message: "left"}}, DefaultMaxFrame); err != nil {
		t.Fatal(err)
	}
	sameEvents(t, in.Bytes(), DefaultMaxFrame)
	sameEvents(t, in.Bytes()[:in.Len()-3], DefaultMaxFrame)

	fr := NewFrameReader(bytes.NewReader(in.Bytes()), DefaultMaxFrame)
	var kept []parley.Message
	for range msgs {
		ev, err := fr.ReadEvent()
		if err != nil {
			t.Fatal(err)
		}
		kept = append(kept, *ev.Msg)
	}
	if !reflect.DeepEqual(kept, msgs) {
		t.Fatalf("read %+v, want %+v", kept, msgs)
	}
	ev, err := fr.ReadEvent()
	if err != nil || ev.Msg != nil || ev.Error == nil || ev.Error.Code != CodeForbidden {
		t.Fatalf("error event read as %+v, %v", ev, err)
	}
}
