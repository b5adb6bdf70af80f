package daemon

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// BenchmarkFanoutEncode measures what writing one batch of 64 messages to
// 100 subscribers of one room costs the node's encoding: with the room's
// shared frames (each message encoded once) and without (each subscriber
// encodes each message). One op is one delivery.
func BenchmarkFanoutEncode(b *testing.B) {
	const subs, batch = 100, 64
	text := strings.Repeat("x", 128)
	for _, shared := range []bool{false, true} {
		b.Run(fmt.Sprintf("shared=%v", shared), func(b *testing.B) {
			var c frameCache
			var frames *roomFrames
			if shared {
				frames = c.acquire("general")
			}
			bufs := make([][]byte, subs)
			seq := uint64(0)
			b.ReportAllocs()
			b.ResetTimer()
			for done := 0; done < b.N; done += subs * batch {
				msgs := make([]parley.Message, batch)
				for i := range msgs {
					seq++
					msgs[i] = parley.Message{Room: "general", Seq: seq, ID: parley.NewMsgID(time.Now()), User: "ann", TS: parley.UnixTime(time.Now().UnixNano()), Text: text}
				}
				for s := range bufs {
					var err error
					if bufs[s], err = writeEvents(io.Discard, bufs[s][:0], msgs, frames); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
