package bench

import (
	"testing"
	"time"

	"github.com/parleychat/parley"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

func id(n byte) parley.MsgID { return parley.MsgID{15: n} }

func TestLongestGap(t *testing.T) {
	recs := []sendRecord{
		{client: 0, sched: at(0), ack: at(10)},
		{client: 1, sched: at(5), ack: at(20)},
		{client: 0, sched: at(20), ack: at(900)}, // client 0 waits 890 ms
		{client: 1, sched: at(30), ack: at(300)},
		{client: 1, sched: at(40)}, // never acked
	}
	gap, start := longestGap(recs)
	if gap != 600*time.Millisecond || !start.Equal(at(300)) {
		t.Fatalf("cluster gap %v from %v, want 600ms from 300ms", gap, start)
	}
	cg, client := longestClientGap(recs)
	if cg != 890*time.Millisecond || client != 0 {
		t.Fatalf("client gap %v on client %d, want 890ms on 0", cg, client)
	}
	if g, _ := longestGap(nil); g != 0 {
		t.Fatalf("gap of nothing: %v", g)
	}
}

func TestRecoveryTime(t *testing.T) {
	kill := at(1000)
	recs := []sendRecord{
		{client: 0, room: "a", sched: at(900), ack: at(950)},   // before the kill
		{client: 1, room: "b", sched: at(990), ack: at(1010)},  // sent before the kill: ignored
		{client: 0, room: "a", sched: at(1000), ack: at(1100)}, // client 0 served again at 1100
		{client: 1, room: "a", sched: at(1005), ack: at(1600)}, // client 1 at 1600
		{client: 0, room: "b", sched: at(1500), ack: at(1700)}, // room b at 1700
		{client: 1, room: "b", sched: at(1800), ack: at(1850)},
		{client: 2, room: "b", sched: at(1900)}, // never acked: ignored
	}
	if got := recoveryTime(recs, kill); got != 700*time.Millisecond {
		t.Fatalf("recovery %v, want 700ms", got)
	}
	if got := recoveryTime(recs[:2], kill); got != 0 {
		t.Fatalf("recovery with no ack after the kill: %v", got)
	}
}

func TestCheckHistory(t *testing.T) {
	recs := []sendRecord{
		{room: "a", id: id(1), ack: at(1), seq: 1},
		{room: "a", id: id(2), ack: at(2), seq: 2},
		{room: "a", id: id(3), ack: at(3), seq: 3}, // lost below
		{room: "a", id: id(4)},                     // unacknowledged: not checked
	}
	hist := map[string][]parley.Message{
		"a": {{Seq: 1, ID: id(1)}, {Seq: 2, ID: id(2)}, {Seq: 3, ID: id(2)}},
		"b": {{Seq: 1, ID: id(9)}, {Seq: 3, ID: id(8)}},
	}
	hc := checkHistory(recs, hist)
	if hc.lost != 1 || hc.dups != 1 || hc.gaps != 1 {
		t.Fatalf("got %+v, want 1 lost, 1 dup, 1 gap", hc)
	}
	good := map[string][]parley.Message{"a": {{Seq: 1, ID: id(1)}, {Seq: 2, ID: id(2)}, {Seq: 3, ID: id(3)}}}
	if hc := checkHistory(recs, good); hc != (historyCheck{}) {
		t.Fatalf("clean history: %+v", hc)
	}
}

func TestSameHistories(t *testing.T) {
	a := map[string][]parley.Message{"r": {{Seq: 1, ID: id(1)}, {Seq: 2, ID: id(2)}}}
	b := map[string][]parley.Message{"r": {{Seq: 1, ID: id(1)}, {Seq: 2, ID: id(2)}}}
	if err := sameHistories(a, b); err != nil {
		t.Fatal(err)
	}
	b["r"][1].ID = id(3)
	if err := sameHistories(a, b); err == nil {
		t.Fatal("different ids accepted")
	}
	if err := sameHistories(a, map[string][]parley.Message{"r": a["r"][:1]}); err == nil {
		t.Fatal("shorter history accepted")
	}
}

func TestSeqFaultsAndResume(t *testing.T) {
	got := []delivery{{1, at(0)}, {2, at(5)}, {4, at(10)}, {4, at(1200)}, {5, at(1210)}}
	gaps, dups := seqFaults(got, 6)
	if gaps != 2 || dups != 1 { // 3 and 6 missing; 4 twice
		t.Fatalf("gaps %d dups %d, want 2 and 1", gaps, dups)
	}
	if d := resumeAfter(got, at(100)); d != 1100*time.Millisecond {
		t.Fatalf("resumed after %v, want 1.1s", d)
	}
	if d := resumeAfter(got, at(5000)); d != 0 {
		t.Fatalf("nothing after the kill: %v", d)
	}
}
