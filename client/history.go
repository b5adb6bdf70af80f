package client

import (
	"context"
	"fmt"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// HistoryOptions selects the messages History returns.
type HistoryOptions struct {
	// From is the first seq wanted (1 if zero). Ignored when Last is set.
	From uint64
	// Limit is the most messages wanted from From; 0 lets the node choose
	// (one reply's worth). Ignored when Last is set.
	Limit int
	// Last, when positive, asks for the room's last Last messages instead.
	Last int
	// MinSeq makes the node wait until its replica has applied this seq
	// (say, the Seq of the caller's last Send): read-your-writes.
	MinSeq uint64
}

// History returns stored messages of room in seq order, as selected by
// opts. When the node caps a reply, History asks again from where it
// stopped until it has everything asked for. Each request is retried
// across reconnects until ctx ends.
func (c *Client) History(ctx context.Context, room string, opts HistoryOptions) ([]parley.Message, error) {
	if room == "" {
		return nil, fmt.Errorf("history: %w", transport.Errorf(transport.CodeInvalid, "no room"))
	}
	fetch := func(req transport.HistoryRequest) (transport.HistoryResponse, error) {
		var resp transport.HistoryResponse
		err := c.do(ctx, transport.OpHistory, req, &resp)
		return resp, err
	}
	msgs, err := pageHistory(room, opts, fetch)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return msgs, nil
}

// historyFetcher performs one history request.
type historyFetcher func(transport.HistoryRequest) (transport.HistoryResponse, error)

// pageHistory gathers the messages opts selects with as many requests as
// the node's reply cap needs.
func pageHistory(room string, opts HistoryOptions, fetch historyFetcher) ([]parley.Message, error) {
	if opts.Last > 0 {
		return pageLast(room, opts, fetch)
	}
	from := max(opts.From, 1)
	resp, err := fetch(transport.HistoryRequest{Room: room, From: from, Limit: opts.Limit, MinSeq: opts.MinSeq})
	if err != nil {
		return nil, err
	}
	out := inRange(nil, resp.Messages, from, resp.LastSeq)
	if opts.Limit <= 0 {
		return out, nil
	}
	if len(out) > opts.Limit {
		return out[:opts.Limit], nil
	}
	for len(out) < opts.Limit {
		next := from
		if len(out) > 0 {
			next = out[len(out)-1].Seq + 1
		}
		if next > resp.LastSeq {
			break
		}
		resp, err = fetch(transport.HistoryRequest{Room: room, From: next, Limit: opts.Limit - len(out)})
		if err != nil {
			return nil, err
		}
		n := len(out)
		out = inRange(out, resp.Messages, next, resp.LastSeq)
		if len(out) == n {
			break // no progress
		}
	}
	if len(out) > opts.Limit {
		out = out[:opts.Limit]
	}
	return out, nil
}

// pageLast gathers the room's last opts.Last messages: it asks for them,
// then fills in whatever the node's cap left out on either side.
func pageLast(room string, opts HistoryOptions, fetch historyFetcher) ([]parley.Message, error) {
	resp, err := fetch(transport.HistoryRequest{Room: room, Last: opts.Last, MinSeq: opts.MinSeq})
	if err != nil {
		return nil, err
	}
	end := resp.LastSeq
	if end == 0 {
		return nil, nil
	}
	start := uint64(1)
	if end > uint64(opts.Last) {
		start = end - uint64(opts.Last) + 1
	}
	have := inRange(nil, resp.Messages, start, end)
	if len(have) == 0 {
		return fetchRange(room, start, end, fetch)
	}
	before, err := fetchRange(room, start, have[0].Seq-1, fetch)
	if err != nil {
		return nil, err
	}
	after, err := fetchRange(room, have[len(have)-1].Seq+1, end, fetch)
	if err != nil {
		return nil, err
	}
	out := append(before, have...)
	return append(out, after...), nil
}

// fetchRange gathers the messages with seqs from..to (none if to < from).
func fetchRange(room string, from, to uint64, fetch historyFetcher) ([]parley.Message, error) {
	var out []parley.Message
	for from <= to {
		resp, err := fetch(transport.HistoryRequest{Room: room, From: from, Limit: int(min(to-from+1, 1<<30))})
		if err != nil {
			return nil, err
		}
		n := len(out)
		out = inRange(out, resp.Messages, from, to)
		if len(out) == n {
			break // no progress: the node has nothing more
		}
		from = out[len(out)-1].Seq + 1
	}
	return out, nil
}

// inRange appends to out the messages of msgs with seqs in from..to that
// come after out's last, keeping the result strictly increasing.
func inRange(out, msgs []parley.Message, from, to uint64) []parley.Message {
	for _, m := range msgs {
		if m.Seq < from || (to > 0 && m.Seq > to) {
			continue
		}
		if len(out) > 0 && m.Seq <= out[len(out)-1].Seq {
			continue
		}
		out = append(out, m)
	}
	return out
}
