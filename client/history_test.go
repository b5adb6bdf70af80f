package client

import (
	"errors"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// cappedRoom answers history requests for a room holding seqs 1..last, at
// most cap messages per reply, like a node that bounds its replies.
type cappedRoom struct {
	last uint64
	cap  int
	reqs []transport.HistoryRequest
}

func (r *cappedRoom) fetch(req transport.HistoryRequest) (transport.HistoryResponse, error) {
	r.reqs = append(r.reqs, req)
	if len(r.reqs) > 1000 {
		return transport.HistoryResponse{}, errors.New("too many requests")
	}
	var from, to uint64
	if req.Last > 0 {
		from = 1
		if r.last > uint64(req.Last) {
			from = r.last - uint64(req.Last) + 1
		}
		to = r.last
		// A capped "last" reply keeps the newest messages.
		if n := to - from + 1; n > uint64(r.cap) {
			from = to - uint64(r.cap) + 1
		}
	} else {
		from = max(req.From, 1)
		n := req.Limit
		if n <= 0 || n > r.cap {
			n = r.cap
		}
		to = min(from+uint64(n)-1, r.last)
	}
	resp := transport.HistoryResponse{LastSeq: r.last}
	for s := from; s <= to; s++ {
		resp.Messages = append(resp.Messages, parley.Message{Room: "general", Seq: s})
	}
	return resp, nil
}

func checkSeqs(t *testing.T, msgs []parley.Message, first, last uint64) {
	t.Helper()
	if want := int(last - first + 1); first > last && len(msgs) != 0 || first <= last && len(msgs) != want {
		t.Fatalf("got %d messages, want seqs %d..%d", len(msgs), first, last)
	}
	for i, m := range msgs {
		if m.Seq != first+uint64(i) {
			t.Fatalf("message %d has seq %d, want %d", i, m.Seq, first+uint64(i))
		}
	}
}

func TestHistoryLastPagesBackward(t *testing.T) {
	r := &cappedRoom{last: 1000, cap: 64}
	msgs, err := pageHistory("general", HistoryOptions{Last: 300, MinSeq: 990}, r.fetch)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 701, 1000)
	if r.reqs[0].MinSeq != 990 {
		t.Fatalf("first request lost MinSeq: %+v", r.reqs[0])
	}
}

func TestHistoryLastMoreThanRoom(t *testing.T) {
	r := &cappedRoom{last: 7, cap: 64}
	msgs, err := pageHistory("general", HistoryOptions{Last: 50}, r.fetch)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 1, 7)
	if len(r.reqs) != 1 {
		t.Fatalf("%d requests for an uncapped reply, want 1", len(r.reqs))
	}
}

func TestHistoryLastEmptyRoom(t *testing.T) {
	r := &cappedRoom{last: 0, cap: 64}
	msgs, err := pageHistory("general", HistoryOptions{Last: 50}, r.fetch)
	if err != nil || len(msgs) != 0 {
		t.Fatalf("empty room: %d messages, %v", len(msgs), err)
	}
}

func TestHistoryFromLimitPagesForward(t *testing.T) {
	r := &cappedRoom{last: 500, cap: 64}
	msgs, err := pageHistory("general", HistoryOptions{From: 10, Limit: 200}, r.fetch)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 10, 209)
}

func TestHistoryFromLimitStopsAtEnd(t *testing.T) {
	r := &cappedRoom{last: 100, cap: 30}
	msgs, err := pageHistory("general", HistoryOptions{From: 50, Limit: 1000}, r.fetch)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 50, 100)
}

func TestHistoryNoLimitIsOneReply(t *testing.T) {
	r := &cappedRoom{last: 100, cap: 30}
	msgs, err := pageHistory("general", HistoryOptions{}, r.fetch)
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, msgs, 1, 30)
	if len(r.reqs) != 1 || r.reqs[0].From != 1 {
		t.Fatalf("requests %+v, want one from 1", r.reqs)
	}
}

func TestHistoryError(t *testing.T) {
	want := transport.Errorf(transport.CodeNotFound, "no room")
	_, err := pageHistory("x", HistoryOptions{Last: 5}, func(transport.HistoryRequest) (transport.HistoryResponse, error) {
		return transport.HistoryResponse{}, want
	})
	if !errors.Is(err, want) {
		t.Fatalf("err = %v, want %v", err, want)
	}
}

func TestInRange(t *testing.T) {
	msgs := []parley.Message{{Seq: 3}, {Seq: 4}, {Seq: 4}, {Seq: 2}, {Seq: 5}, {Seq: 9}}
	got := inRange([]parley.Message{{Seq: 3}}, msgs, 3, 5)
	checkSeqs(t, got, 3, 5)
}
