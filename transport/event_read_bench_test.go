package transport

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// BenchmarkReadEvent compares reading a subscription stream's message
// events with Read and with ReadEvent. One op is one event.
func BenchmarkReadEvent(b *testing.B) {
	var in bytes.Buffer
	m := parley.Message{Room: "fanout", ID: parley.NewMsgID(time.Now()), User: "fsnd-1", TS: time.Now(), Text: strings.Repeat("x", 128)}
	for i := range 1000 {
		m.Seq = uint64(i + 1)
		if err := WriteFrame(&in, Event{Msg: &m}, DefaultMaxFrame); err != nil {
			b.Fatal(err)
		}
	}
	for _, fast := range []bool{false, true} {
		name := "Read"
		if fast {
			name = "ReadEvent"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			var fr *FrameReader
			for i := range b.N {
				if i%1000 == 0 {
					fr = NewFrameReader(bytes.NewReader(in.Bytes()), DefaultMaxFrame)
				}
				var err error
				if fast {
					_, err = fr.ReadEvent()
				} else {
					var ev Event
					err = fr.Read(&ev)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
