package bench

import (
	"testing"
	"time"
)

func TestHistogramPercentiles(t *testing.T) {
	h := NewHistogram()
	for i := 1; i <= 1000; i++ {
		h.Record(time.Duration(i) * time.Millisecond)
	}
	s := h.Summary()
	if s.Count != 1000 {
		t.Fatalf("count %d, want 1000", s.Count)
	}
	// HDR with 3 significant digits: within 0.1%.
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p50", s.P50Ms, 500}, {"p99", s.P99Ms, 990}, {"p99.9", s.P999Ms, 999}, {"max", s.MaxMs, 1000}, {"mean", s.MeanMs, 500.5},
	} {
		if c.got < c.want*0.999 || c.got > c.want*1.001 {
			t.Errorf("%s = %v ms, want %v ms", c.name, c.got, c.want)
		}
	}
}

func TestHistogramClampsAndMerges(t *testing.T) {
	a, b := NewHistogram(), NewHistogram()
	a.Record(-time.Second) // clamped to 1 µs
	a.Record(time.Hour)    // clamped to the maximum
	b.Record(2 * time.Millisecond)
	a.Merge(b)
	s := a.Summary()
	if s.Count != 3 {
		t.Fatalf("count %d, want 3", s.Count)
	}
	if s.MaxMs < 299000 || s.MaxMs > 301000 {
		t.Errorf("max %v ms, want about 5 minutes", s.MaxMs)
	}
	if (NewHistogram().Summary() != Latency{}) {
		t.Error("empty histogram has a non-zero summary")
	}
}

func TestRound3(t *testing.T) {
	for in, want := range map[float64]float64{1.23456: 1.235, -1.23456: -1.235, 0: 0, 2.0004: 2} {
		if got := round3(in); got != want {
			t.Errorf("round3(%v) = %v, want %v", in, got, want)
		}
	}
}
