package client

// cursor is a subscription's bookkeeping of what it has delivered, so that
// after any number of resumptions its consumer sees each seq once, in
// order, with no gap.
//
// Before anything is delivered the cursor waits for seq from (0: whatever
// comes first); after, for last+1. Older seqs are dropped as duplicates;
// newer ones are a gap.
type cursor struct {
	from      uint64 // first seq wanted, while nothing is delivered
	last      uint64 // last seq delivered
	delivered bool
}

func newCursor(from uint64) cursor { return cursor{from: from} }

// confirm records the first seq the node said it will deliver. It matters
// only while nothing is delivered: a "from now" subscription learns where
// now is, so it can resume from there; a from beyond the requested one
// means the node will not send the seqs in between.
func (c *cursor) confirm(serverFrom uint64) {
	if !c.delivered && serverFrom > c.from {
		c.from = serverFrom
	}
}

// accept decides about an arriving seq: deliver it (and count it
// delivered), drop it as already delivered, or report a gap.
func (c *cursor) accept(seq uint64) (deliver, gap bool) {
	if seq == 0 {
		return false, false // never a valid seq
	}
	want := c.resumeFrom()
	switch {
	case want == 0 || seq == want:
		c.last, c.delivered = seq, true
		return true, false
	case seq < want:
		return false, false
	default:
		return false, true
	}
}

// resumeFrom is the seq to subscribe from: last+1 once something is
// delivered, else the original (or confirmed) from.
func (c *cursor) resumeFrom() uint64 {
	if c.delivered {
		return c.last + 1
	}
	return c.from
}
