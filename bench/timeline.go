package bench

import (
	"fmt"
	"time"
)

// Timeline is a latency distribution cut into one-second slices of the
// measuring window, by each message's place in the schedule, so that a
// slow stretch shows when it began and how long it lasted, which one
// histogram of the whole window hides.
type Timeline struct {
	rate   float64
	slices []*Histogram
}

// TimeSlice is one second of a Timeline: the messages scheduled in it.
type TimeSlice struct {
	// AtS is the slice's start, in seconds from the start of the window.
	AtS int `json:"at_s"`
	Latency
}

// NewTimeline returns a Timeline of a window of d at rate messages per
// second.
func NewTimeline(rate float64, d time.Duration) *Timeline {
	t := &Timeline{rate: rate, slices: make([]*Histogram, max(1, int((d+time.Second-1)/time.Second)))}
	for i := range t.slices {
		t.slices[i] = NewHistogram()
	}
	return t
}

// Record adds the latency d of the window's n-th message (from 0).
// Messages past the window count in its last slice.
func (t *Timeline) Record(n int, d time.Duration) {
	i := min(max(0, int(float64(n)/t.rate)), len(t.slices)-1)
	t.slices[i].Record(d)
}

// Slices returns every second's summary, in order.
func (t *Timeline) Slices() []TimeSlice {
	out := make([]TimeSlice, len(t.slices))
	for i, h := range t.slices {
		out[i] = TimeSlice{AtS: i, Latency: h.Summary()}
	}
	return out
}

// timelineNote says which second was slowest, by its median, and how
// many seconds had a median over twice the window's, or "" if there are
// fewer than two seconds to compare.
func timelineNote(slices []TimeSlice, whole Latency) string {
	if len(slices) < 2 || whole.Count == 0 {
		return ""
	}
	worst, slow := slices[0], 0
	for _, s := range slices {
		if s.P50Ms > worst.P50Ms {
			worst = s
		}
		if s.Count > 0 && s.P50Ms > 2*whole.P50Ms {
			slow++
		}
	}
	return fmt.Sprintf("slowest second +%ds (p50 %s, max %s); %d of %d seconds with p50 over twice the window's",
		worst.AtS, ms(worst.P50Ms), ms(worst.MaxMs), slow, len(slices))
}
