package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

// TestCheckersCatchViolations feeds the history checkers histories that
// break each promise, so that a check passing on a real cluster means
// something. It starts no cluster.
func TestCheckersCatchViolations(t *testing.T) {
	now := time.Now()
	ids := make([]parley.MsgID, 4)
	for i := range ids {
		ids[i] = parley.NewMsgID(now.Add(time.Duration(i) * time.Millisecond))
	}
	msg := func(seq uint64, id int, text string) parley.Message {
		return parley.Message{Room: "r", Seq: seq, ID: ids[id], User: "u", TS: parley.UnixTime(int64(seq)), Text: text}
	}
	good := []parley.Message{msg(1, 0, "a"), msg(2, 1, "b"), msg(3, 2, "c")}
	recs := []sendRecord{
		{Room: "r", User: "u", Text: "a", ID: ids[0], Acked: true, Seq: 1},
		{Room: "r", User: "u", Text: "b", ID: ids[1], Acked: true, Seq: 2},
		{Room: "r", User: "u", Text: "c", ID: ids[2]}, // failed, yet stored: allowed
	}
	if err := wellFormed(good); err != nil {
		t.Fatalf("wellFormed(good): %v", err)
	}
	if errs := verifyLedger(good, recs); len(errs) > 0 {
		t.Fatalf("verifyLedger(good): %v", errs)
	}

	for _, tc := range []struct {
		name string
		h    []parley.Message
	}{
		{"gap", []parley.Message{msg(1, 0, "a"), msg(3, 2, "c")}},
		{"disorder", []parley.Message{msg(2, 1, "b"), msg(1, 0, "a")}},
		{"duplicate id", []parley.Message{msg(1, 0, "a"), msg(2, 0, "a")}},
	} {
		if wellFormed(tc.h) == nil {
			t.Errorf("wellFormed accepts a history with a %s", tc.name)
		}
	}

	other := append([]parley.Message(nil), good...)
	other[1].Text = "changed"
	if sameHistory(good, other) == nil {
		t.Error("sameHistory accepts histories with different texts at one seq")
	}
	if sameHistory(good, good[:2]) == nil {
		t.Error("sameHistory accepts histories of different lengths")
	}

	for _, tc := range []struct {
		name string
		h    []parley.Message
		want string
	}{
		{"lost acknowledged message", good[1:], "LOST"},
		{"acknowledged at another seq", []parley.Message{msg(1, 1, "b"), msg(2, 0, "a"), msg(3, 2, "c")}, "acknowledged at seq"},
		{"message nobody sent", append(append([]parley.Message(nil), good...), msg(4, 3, "d")), "no test client sent"},
		{"retry stored under a new id", append(append([]parley.Message(nil), good...), msg(4, 3, "a")), "stored twice"},
	} {
		errs := verifyLedger(tc.h, recs)
		if !strings.Contains(joinErrs(errs, 10), tc.want) {
			t.Errorf("verifyLedger misses a %s: %v", tc.name, errs)
		}
	}
}
