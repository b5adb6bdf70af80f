package daemon

import (
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
)

// BenchmarkObserveSend counts what one sent message costs the metrics: a
// proposal, a send and a delivery.
func BenchmarkObserveSend(b *testing.B) {
	m := newMetrics()
	b.ReportAllocs()
	for b.Loop() {
		m.Proposed(1, time.Millisecond, nil)
		m.Sent(chatcore.SendResult{Seq: 1}, nil)
		m.Delivered(1, false)
	}
}
