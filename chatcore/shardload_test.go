package chatcore

import (
	"testing"
	"time"
)

// TestShardLoadTellsBusyFromIdle feeds a shard's entry counter between
// looks a second apart: busy after 3 looks in a row at 10 entries a second
// or more, idle again only after 10 looks in a row at 2 or fewer, a burst
// or a pause shorter than that changes nothing, and a look long after the
// last one judges afresh.
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
	look := func(step string, entries uint64, after time.Duration, want bool) {
		t.Helper()
		c.Add(entries)
		at = at.Add(after)
		if got := l.busy(7, at); got != want {
			t.Fatalf("%s (%d entries in %v): busy %v, want %v", step, entries, after, got, want)
		}
	}
	look("a burst", 500, time.Second, false)
	look("quiet again", 0, time.Second, false)
	look("busy 1", 10, time.Second, false)
	look("busy 2", 50, time.Second, false)
	look("busy 3", 20, 2*time.Second, true)
	for i := range idleLooks - 1 {
		look("a pause", uint64(i%3), time.Second, true)
	}
	look("between the marks", 5, time.Second, true)
	for range idleLooks - 1 {
		look("quiet", 2, time.Second, true)
	}
	look("quiet for idleLooks", 1, time.Second, false)
	look("busy 1", 30, time.Second, false)
	look("busy 2", 30, time.Second, false)
	look("long after: judged afresh", 30*10, 30*time.Second, false)
	if l.busy(8, at) {
		t.Fatal("a shard never counted is busy")
	}
}
