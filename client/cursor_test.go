package client

import "testing"

// feed runs seqs through c and returns what was delivered and whether a gap
// was seen (feeding stops at the first gap, as the subscription does).
func feed(c *cursor, seqs ...uint64) (delivered []uint64, gap bool) {
	for _, s := range seqs {
		d, g := c.accept(s)
		if g {
			return delivered, true
		}
		if d {
			delivered = append(delivered, s)
		}
	}
	return delivered, false
}

func equalSeqs(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCursorFromSeq(t *testing.T) {
	c := newCursor(5)
	if got := c.resumeFrom(); got != 5 {
		t.Fatalf("resumeFrom before delivery = %d, want 5", got)
	}
	got, gap := feed(&c, 3, 4, 5, 6, 6, 7)
	if gap || !equalSeqs(got, []uint64{5, 6, 7}) {
		t.Fatalf("delivered %v gap %v, want [5 6 7] no gap", got, gap)
	}
	if got := c.resumeFrom(); got != 8 {
		t.Fatalf("resumeFrom = %d, want 8", got)
	}
}

func TestCursorFromNowConfirmed(t *testing.T) {
	c := newCursor(0)
	c.confirm(42)
	if got := c.resumeFrom(); got != 42 {
		t.Fatalf("resumeFrom after confirm = %d, want 42 (resume where now was)", got)
	}
	// The stream breaks before anything is delivered; a new node confirms
	// a later from: nothing may be lost, so the cursor keeps 42 and sees
	// the gap.
	c.confirm(40)
	if got := c.resumeFrom(); got != 42 {
		t.Fatalf("resumeFrom after earlier confirm = %d, want 42", got)
	}
	if got, gap := feed(&c, 41, 42, 43); gap || !equalSeqs(got, []uint64{42, 43}) {
		t.Fatalf("delivered %v gap %v, want [42 43]", got, gap)
	}
	// Once something is delivered, confirm changes nothing.
	c.confirm(100)
	if got := c.resumeFrom(); got != 44 {
		t.Fatalf("resumeFrom = %d, want 44", got)
	}
}

func TestCursorFromNowUnconfirmed(t *testing.T) {
	c := newCursor(0)
	if got, gap := feed(&c, 9, 10); gap || !equalSeqs(got, []uint64{9, 10}) {
		t.Fatalf("delivered %v gap %v, want [9 10]", got, gap)
	}
}

func TestCursorResumeDropsDuplicates(t *testing.T) {
	c := newCursor(1)
	if got, _ := feed(&c, 1, 2, 3); !equalSeqs(got, []uint64{1, 2, 3}) {
		t.Fatalf("delivered %v", got)
	}
	// A resumed stream that starts earlier than asked (a lagging replica
	// replays) must not repeat anything.
	if got, gap := feed(&c, 2, 3, 4, 5); gap || !equalSeqs(got, []uint64{4, 5}) {
		t.Fatalf("after resume delivered %v gap %v, want [4 5]", got, gap)
	}
}

func TestCursorGap(t *testing.T) {
	c := newCursor(1)
	got, gap := feed(&c, 1, 2, 4)
	if !gap || !equalSeqs(got, []uint64{1, 2}) {
		t.Fatalf("delivered %v gap %v, want [1 2] and a gap", got, gap)
	}
	// The gap delivered nothing: resume from 3.
	if got := c.resumeFrom(); got != 3 {
		t.Fatalf("resumeFrom after gap = %d, want 3", got)
	}
	if got, gap := feed(&c, 3, 4); gap || !equalSeqs(got, []uint64{3, 4}) {
		t.Fatalf("after resubscribe delivered %v gap %v", got, gap)
	}
}

func TestCursorGapBeforeFirst(t *testing.T) {
	c := newCursor(10)
	if _, gap := feed(&c, 11); !gap {
		t.Fatal("seq 11 when 10 is wanted is not reported as a gap")
	}
	if got := c.resumeFrom(); got != 10 {
		t.Fatalf("resumeFrom = %d, want 10", got)
	}
}

func TestCursorIgnoresSeqZero(t *testing.T) {
	c := newCursor(0)
	if d, g := c.accept(0); d || g {
		t.Fatalf("accept(0) = %v, %v; want drop", d, g)
	}
	if c.resumeFrom() != 0 {
		t.Fatal("seq 0 moved the cursor")
	}
}
