package bench

import (
	"testing"
	"time"
)

func TestHostCPU(t *testing.T) {
	const before = "cpu  100 0 50 800 20 0 5 25 7 0\ncpu0 50 0 25 400 10 0 2 12 3 0\nintr 1 2 3\n"
	const after = "cpu  160 0 50 900 40 0 5 45 9 0\ncpu0 80 0 35 450 20 0 2 22 4 0\nintr 1 2 3\n"
	t0, err := parseHostTimes([]byte(before))
	if err != nil {
		t.Fatal(err)
	}
	t1, err := parseHostTimes([]byte(after))
	if err != nil {
		t.Fatal(err)
	}
	// 200 ticks passed: 60 user, 100 idle, 20 iowait, 20 steal
	// (guest time is already in user and is not counted twice).
	got := t1.since(t0)
	if got == nil || *got != (HostCPU{IdlePct: 50, IOWaitPct: 10, StealPct: 10}) {
		t.Fatalf("since: %+v", got)
	}
	if t0.since(t0) != nil {
		t.Fatal("no time passed, but a share was computed")
	}
	for _, bad := range []string{"", "intr 1 2\n", "cpu 1 2 3\n", "cpu 1 2 3 x 5 6 7 8\n"} {
		if _, err := parseHostTimes([]byte(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := readHostTimes(); err != nil {
		t.Fatalf("this machine's /proc/stat: %v", err)
	}
}

// TestHostSamplesBetween reads a window from readings taken around it: the
// last at or before its start to the first at or after its end.
func TestHostSamplesBetween(t *testing.T) {
	at := func(s int) time.Time { return time.Unix(1000+int64(s), 0) }
	ss := hostSamples{
		{at(0), hostTimes{total: 0, idle: 0}},
		{at(1), hostTimes{total: 100, idle: 90}},
		{at(2), hostTimes{total: 200, idle: 100}},
		{at(3), hostTimes{total: 300, idle: 110}},
		{at(4), hostTimes{total: 400, idle: 200}},
	}
	if got := ss.between(at(1).Add(time.Millisecond), at(3)); got == nil || got.IdlePct != 10 {
		t.Fatalf("window 1s..3s: %+v, want 10%% idle (readings at 1s and 3s)", got)
	}
	if got := ss.between(at(-1), at(2)); got != nil {
		t.Fatalf("a window starting before the first reading: %+v", got)
	}
	if got := ss.between(at(1), at(5)); got != nil {
		t.Fatalf("a window ending after the last reading: %+v", got)
	}
	live := startHostSampler(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for {
		live.mu.Lock()
		n := len(live.all)
		live.mu.Unlock()
		if n >= 3 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	end := time.Now()
	got := live.stop()
	if len(got) < 4 || got[len(got)-1].at.Before(end) {
		t.Fatalf("a live sampler took %d readings, the last not after stop was called", len(got))
	}
}
