package chatcore

import (
	"testing"
	"time"
)

// TestShardLoadTellsBusyFromIdle feeds a shard's entry counter at given
// rates between looks one second apart: busy from 10 entries a second, idle
// again only at 2 or fewer, and a look after a long gap judged afresh.
func TestShardLoadTellsBusyFromIdle(t *testing.T) {
	l := newShardLoad()
	c := l.counter(7)
	if l.counter(7) != c {
		t.Fatal("a second counter for the same shard")
	}
	at := time.Unix(1000, 0)
	if l.busy(7, at) {
		t.Fatal("busy at the first look")
	}
	for i, step := range []struct {
		entries uint64
		after   time.Duration
		busy    bool
	}{
		{9, time.Second, false},
		{10, time.Second, true},
		{5, time.Second, true}, // between the marks: as it was
		{3, time.Second, true},
		{2, time.Second, false},
		{5, time.Second, false}, // between the marks: as it was
		{30, 2 * time.Second, true},
		{100, 20 * time.Second, false}, // 5 a second, but long after: judged afresh
		{0, 0, false},                  // no time passed: as it was
	} {
		c.Add(step.entries)
		at = at.Add(step.after)
		if got := l.busy(7, at); got != step.busy {
			t.Fatalf("step %d (%d entries in %v): busy %v, want %v", i, step.entries, step.after, got, step.busy)
		}
	}
	if l.busy(8, at) {
		t.Fatal("a shard never counted is busy")
	}
}
