package bench

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parleychat/parley"
)

// sendRecord is one send of a load whose outcome the harness checks.
type sendRecord struct {
	room string
	// client is the index of the client that sent it.
	client int
	id     parley.MsgID
	sched  time.Time
	ack    time.Time // zero unless acknowledged
	seq    uint64
	err    error
}

// ledger records every send of a load, for the after-the-fact checks of
// the failover scenario.
type ledger struct {
	mu   sync.Mutex
	recs []sendRecord
}

// add records one finished send.
func (l *ledger) add(r sendRecord) {
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
}

// records returns a copy of every record, in scheduled order.
func (l *ledger) records() []sendRecord {
	l.mu.Lock()
	out := slices.Clone(l.recs)
	l.mu.Unlock()
	slices.SortFunc(out, func(a, b sendRecord) int { return a.sched.Compare(b.sched) })
	return out
}

// longestGap returns the longest stretch between consecutive
// acknowledgements (and from the first scheduled send to the first ack),
// and when it began.
func longestGap(recs []sendRecord) (gap time.Duration, at time.Time) {
	var acks []time.Time
	for _, r := range recs {
		if !r.ack.IsZero() {
			acks = append(acks, r.ack)
		}
	}
	slices.SortFunc(acks, time.Time.Compare)
	if len(recs) == 0 || len(acks) == 0 {
		return 0, time.Time{}
	}
	prev := recs[0].sched
	for _, a := range acks {
		if d := a.Sub(prev); d > gap {
			gap, at = d, prev
		}
		prev = a
	}
	return gap, at
}

// longestClientGap returns the longest gap any one client saw between its
// acknowledgements (see longestGap), and which client saw it.
func longestClientGap(recs []sendRecord) (gap time.Duration, client int) {
	byClient := make(map[int][]sendRecord)
	for _, r := range recs {
		byClient[r.client] = append(byClient[r.client], r)
	}
	for c, rs := range byClient {
		if g, _ := longestGap(rs); g > gap {
			gap, client = g, c
		}
	}
	return gap, client
}

// recoveryTime returns how long after kill it took until every client and
// every room had a send acknowledged again: the latest, over clients and
// over rooms, of the first ack of a send scheduled at or after kill (an
// earlier send's answer may have been on its way when the node died).
// Zero if none came.
func recoveryTime(recs []sendRecord, kill time.Time) time.Duration {
	byClient := make(map[int]time.Time)
	byRoom := make(map[string]time.Time)
	first := func(m map[int]time.Time, k int, t time.Time) {
		if old, ok := m[k]; !ok || t.Before(old) {
			m[k] = t
		}
	}
	for _, r := range recs {
		if r.ack.IsZero() || r.sched.Before(kill) {
			continue
		}
		first(byClient, r.client, r.ack)
		if old, ok := byRoom[r.room]; !ok || r.ack.Before(old) {
			byRoom[r.room] = r.ack
		}
	}
	var last time.Time
	for _, t := range byClient {
		if t.After(last) {
			last = t
		}
	}
	for _, t := range byRoom {
		if t.After(last) {
			last = t
		}
	}
	if last.IsZero() {
		return 0
	}
	return last.Sub(kill)
}

// historyCheck is the comparison of acknowledged sends with one node's
// copy of the rooms.
type historyCheck struct {
	// lost counts acknowledged sends missing from the node, or found at
	// another seq than the one acknowledged.
	lost int
	// dups counts messages stored more than once (by id).
	dups int
	// gaps counts rooms whose seqs are not 1, 2, 3... in order.
	gaps int
}

// checkHistory compares the acknowledged sends of recs with hist, one
// node's copy of each room, by message id.
func checkHistory(recs []sendRecord, hist map[string][]parley.Message) historyCheck {
	var hc historyCheck
	where := make(map[parley.MsgID]uint64)
	for _, msgs := range hist {
		for i, m := range msgs {
			if m.Seq != uint64(i+1) {
				hc.gaps++
				break
			}
		}
		for _, m := range msgs {
			if _, seen := where[m.ID]; seen {
				hc.dups++
				continue
			}
			where[m.ID] = m.Seq
		}
	}
	for _, r := range recs {
		if r.ack.IsZero() {
			continue
		}
		if seq, ok := where[r.id]; !ok || seq != r.seq {
			hc.lost++
		}
	}
	return hc
}

// sameHistories reports the first room whose history differs between two
// nodes' copies.
func sameHistories(a, b map[string][]parley.Message) error {
	for room, ma := range a {
		mb := b[room]
		if len(ma) != len(mb) {
			return fmt.Errorf("room %s: %d messages against %d", room, len(ma), len(mb))
		}
		for i := range ma {
			if ma[i].ID != mb[i].ID || ma[i].Seq != mb[i].Seq {
				return fmt.Errorf("room %s: seq %d differs", room, ma[i].Seq)
			}
		}
	}
	return nil
}
