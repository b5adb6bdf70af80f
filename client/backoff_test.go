package client

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
	want := []time.Duration{50, 100, 200, 400, 800, 1600, 2000, 2000, 2000}
	for i, w := range want {
		w *= time.Millisecond
		d := b.next()
		if d < w/2 || d > w {
			t.Fatalf("attempt %d: delay %v not in [%v, %v]", i, d, w/2, w)
		}
	}
	b.reset()
	if d := b.next(); d < 25*time.Millisecond || d > 50*time.Millisecond {
		t.Fatalf("after reset: delay %v not in [25ms, 50ms]", d)
	}
}

func TestBackoffJitters(t *testing.T) {
	seen := make(map[time.Duration]bool)
	for range 50 {
		b := backoff{min: 50 * time.Millisecond, max: 2 * time.Second}
		seen[b.next()] = true
	}
	if len(seen) < 2 {
		t.Fatal("50 first delays are all equal: no jitter")
	}
}

func TestBackoffNeverOverflows(t *testing.T) {
	b := backoff{min: time.Second, max: time.Hour}
	for i := range 200 {
		if d := b.next(); d < 0 || d > time.Hour {
			t.Fatalf("attempt %d: delay %v out of bounds", i, d)
		}
	}
}

func TestBackoffDefaults(t *testing.T) {
	b := newBackoff()
	if b.min != backoffMin || b.max != backoffMax {
		t.Fatalf("newBackoff = %v..%v, want %v..%v", b.min, b.max, backoffMin, backoffMax)
	}
}
