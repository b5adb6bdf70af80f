package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunPacedOffersTheRate(t *testing.T) {
	var n atomic.Int64
	var late atomic.Int64
	res := runPaced(context.Background(), 500, 4, 3, time.Second, func(_ context.Context, _ int, j job) {
		n.Add(1)
		if j.room < 0 || j.room > 2 {
			t.Errorf("room %d out of range", j.room)
		}
		if time.Since(j.sched) > 5*time.Second {
			late.Add(1)
		}
	})
	if res.issued != 500 || res.dropped != 0 || n.Load() != 500 {
		t.Fatalf("issued %d, dropped %d, ran %d; want 500, 0, 500", res.issued, res.dropped, n.Load())
	}
	if late.Load() > 0 {
		t.Errorf("%d jobs ran more than 5s after their time", late.Load())
	}
}

func TestRunClosedLoopCountsTheWindow(t *testing.T) {
	var calls atomic.Int64
	res := runClosedLoop(context.Background(), 2, 4, 100*time.Millisecond, time.Second, nil, func(ctx context.Context, w, r int) error {
		calls.Add(1)
		<-time.After(10 * time.Millisecond) // a send's service time
		return nil
	})
	if res.acked == 0 || res.acked >= calls.Load() {
		t.Fatalf("acked %d of %d calls: want only the window's", res.acked, calls.Load())
	}
	// Two workers each taking at least 10 ms per send: at most 200/s.
	if rate := res.msgPerSec(); rate <= 0 || rate > 210 {
		t.Fatalf("rate %v/s, want at most 200/s", rate)
	}
	if res.lat.Count() != res.acked {
		t.Fatalf("%d latencies for %d acks", res.lat.Count(), res.acked)
	}
	if _, ok := res.cpu["bench"]; !ok {
		t.Fatalf("no CPU measured for the bench itself: %v", res.cpu)
	}
}
