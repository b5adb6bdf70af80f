package chatcore

import (
	"testing"
	"time"
)

// TestNextBeatIsOnTheWallClockBeat: every node computes the same beats, so
// the beats of a LAN's nodes meet at the registry's leader together.
func TestNextBeatIsOnTheWallClockBeat(t *testing.T) {
	base := time.Date(2026, 12, 1, 22, 0, 0, 0, time.UTC)
	for _, off := range []time.Duration{0, time.Nanosecond, 1 * time.Millisecond, 499 * time.Millisecond, heartbeatInterval - time.Nanosecond, 7*heartbeatInterval + 3*time.Millisecond} {
		now := base.Add(off)
		d := nextBeat(now)
		if d <= 0 || d > heartbeatInterval {
			t.Errorf("at +%v: next beat in %v, want within (0, %v]", off, d, heartbeatInterval)
		}
		if at := now.Add(d); !at.Equal(at.Truncate(heartbeatInterval)) {
			t.Errorf("at +%v: next beat at %v, not on a multiple of %v", off, at.Format(time.RFC3339Nano), heartbeatInterval)
		}
	}
	// Two nodes a few milliseconds apart beat at the same instant.
	a, b := base.Add(200*time.Millisecond), base.Add(203*time.Millisecond)
	if !a.Add(nextBeat(a)).Equal(b.Add(nextBeat(b))) {
		t.Error("nodes 3 ms apart beat at different instants")
	}
}
