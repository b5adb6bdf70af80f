package chatcore

import (
	"context"
	"testing"
	"time"
)

// A fence changes no state, and a malformed one is rejected, changing
// nothing either.
func TestFenceAppliesAsNothing(t *testing.T) {
	h := newApplierHarness(t)
	if r := h.apply(roomCommand{Op: roomOpSend, Room: "general", User: "ann", Text: "hi"}); r.reject != "" {
		t.Fatalf("send rejected: %s", r.reject)
	}
	before := dumpDB(t, h.db)

	res := h.apply(roomCommand{Op: roomOpFence, Fence: &fenceCmd{TS: 42, Term: 7}})
	if res.reject != "" || res.fence == nil || *res.fence != (fenceCmd{TS: 42, Term: 7}) {
		t.Fatalf("fence applied as %+v", res)
	}
	if v, data, err := encodeResult(res); err != nil || v != 1 || data != nil {
		t.Errorf("fence result = %d %x %v, want 1 and no data", v, data, err)
	}
	for _, bad := range []roomCommand{
		{Op: roomOpFence},
		{Op: roomOpFence, Fence: &fenceCmd{TS: 0, Term: 1}},
		{Op: roomOpFence, Room: "general", Fence: &fenceCmd{TS: 1, Term: 1}},
		{Op: roomOpFence, Text: "x", Fence: &fenceCmd{TS: 1, Term: 1}},
		{Op: roomOpFence, Batch: []roomCommand{{Op: roomOpSend}}, Fence: &fenceCmd{TS: 1, Term: 1}},
	} {
		if r := h.apply(bad); r.reject != "invalid fence" || r.fence != nil {
			t.Errorf("apply %+v = %+v, want rejected as an invalid fence", bad, r)
		}
	}
	if !sameDump(before, dumpDB(t, h.db)) {
		t.Errorf("fences changed the state db")
	}
}

// waitReturns runs f.wait in the background and reports whether it
// returned within d.
func waitReturns(f *fenceSet, shard uint64, d time.Duration) bool {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f.wait(shard, nil)
	}()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

func TestFenceSetHoldsUntilTheLeaderChanges(t *testing.T) {
	var f fenceSet
	changed, change := context.WithCancel(context.Background())
	now := time.Now()
	f.raise(1, now.UnixNano(), changed, now)
	if waitReturns(&f, 1, fenceHold/10) {
		t.Fatal("a fresh fence held nothing")
	}
	if !waitReturns(&f, 2, time.Second) {
		t.Fatal("a fence held another shard")
	}
	change()
	if !waitReturns(&f, 1, 5*time.Second) {
		t.Fatal("the fence held on after the leader changed")
	}
}

func TestFenceSetHoldsForFenceHoldAtMost(t *testing.T) {
	var f fenceSet
	now := time.Now()
	// Proposed by a leader whose clock runs an hour ahead.
	f.raise(1, now.Add(time.Hour).UnixNano(), context.Background(), now)
	f.mu.Lock()
	until := f.m[1].until
	f.mu.Unlock()
	if until.After(now.Add(fenceHold)) {
		t.Fatalf("fence holds until %v, more than fenceHold from now", until.Sub(now))
	}
	if !waitReturns(&f, 1, 5*time.Second) {
		t.Fatal("the fence held on past fenceHold")
	}
}

// A fence replayed after a restart, applied later than its hold, or
// applied after the leader changed holds nothing.
func TestFenceSetIgnoresStaleFences(t *testing.T) {
	var f fenceSet
	now := time.Now()
	f.raise(1, now.Add(-2*fenceHold).UnixNano(), context.Background(), now)
	changed, change := context.WithCancel(context.Background())
	change()
	f.raise(2, now.UnixNano(), changed, now)
	f.mu.Lock()
	n := len(f.m)
	f.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d stale fences raised", n)
	}
}
