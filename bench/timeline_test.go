package bench

import (
	"strings"
	"testing"
	"time"
)

// TestTimelineFindsTheSlowSecond records a window of 5 s at 100 msg/s with
// second 3 slow: the slices put every message in its second, and the note
// names second 3 as the one slow second.
func TestTimelineFindsTheSlowSecond(t *testing.T) {
	tl := NewTimeline(100, 5*time.Second)
	whole := NewHistogram()
	for n := range 500 {
		d := 2 * time.Millisecond
		if n >= 300 && n < 400 {
			d = 400 * time.Millisecond
		}
		tl.Record(n, d)
		whole.Record(d)
	}
	tl.Record(600, time.Millisecond) // past the window: its last second
	s := tl.Slices()
	if len(s) != 5 || s[0].Count != 100 || s[3].Count != 100 || s[4].Count != 101 || s[3].P50Ms < 399 || s[2].P50Ms > 3 {
		t.Fatalf("slices %+v", s)
	}
	note := timelineNote(s, whole.Summary())
	if !strings.Contains(note, "slowest second +3s (p50 400") || !strings.Contains(note, "1 of 5 seconds") {
		t.Fatalf("note %q", note)
	}
	if got := timelineNote(s[:1], whole.Summary()); got != "" {
		t.Fatalf("note of one second: %q", got)
	}
}
