package e2e

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// sendRecord is one send a test made: what it sent and what came back.
type sendRecord struct {
	Room, User, Text string
	ID               parley.MsgID
	// Start is when the send was called.
	Start time.Time
	// Acked is true when the send returned success; Seq is then the
	// message's seq.
	Acked     bool
	Seq       uint64
	Duplicate bool
	// Err is why the send failed; the message may or may not be stored.
	Err error
}

// ledger records every send of a test, from any goroutine.
type ledger struct {
	mu   sync.Mutex
	recs []sendRecord
}

// send sends text to room with a fresh message id and records the outcome.
func (l *ledger) send(ctx context.Context, cl *client.Client, user, room, text string) sendRecord {
	r := sendRecord{Room: room, User: user, Text: text, ID: parley.NewMsgID(time.Now()), Start: time.Now()}
	res, err := cl.SendID(ctx, room, r.ID, text)
	if err != nil {
		r.Err = err
	} else {
		r.Acked, r.Seq, r.Duplicate = true, res.Seq, res.Duplicate
		if res.ID != r.ID || res.Room != room {
			r.Err = fmt.Errorf("send: acknowledged as %s in %s, sent %s to %s", res.ID, res.Room, r.ID, room)
		}
	}
	l.mu.Lock()
	l.recs = append(l.recs, r)
	l.mu.Unlock()
	return r
}

// mustSend sends n messages to room one after another, each of which must
// be acknowledged.
func (l *ledger) mustSend(t testing.TB, cl *client.Client, user, room, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ctx, cancel := opContext()
		r := l.send(ctx, cl, user, room, fmt.Sprintf("%s-%d", prefix, i))
		cancel()
		if !r.Acked || r.Err != nil {
			t.Fatalf("send %q to %s: %v", r.Text, room, r.Err)
		}
	}
}

// snapshot returns a copy of the records.
func (l *ledger) snapshot() []sendRecord {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.recs)
}

// rooms returns the rooms sent to, sorted.
func (l *ledger) rooms() []string {
	var out []string
	for _, r := range l.snapshot() {
		if !slices.Contains(out, r.Room) {
			out = append(out, r.Room)
		}
	}
	sort.Strings(out)
	return out
}

// ackedSince counts the sends to room (any room if "") that started at or
// after since and were acknowledged.
func (l *ledger) ackedSince(room string, since time.Time) int {
	n := 0
	for _, r := range l.snapshot() {
		if r.Acked && (room == "" || r.Room == room) && !r.Start.Before(since) {
			n++
		}
	}
	return n
}

// counts returns how many sends were acknowledged and how many failed.
func (l *ledger) counts() (acked, failed int) {
	for _, r := range l.snapshot() {
		if r.Acked {
			acked++
		} else {
			failed++
		}
	}
	return acked, failed
}

// failures returns the sends that returned an error.
func (l *ledger) failures() []sendRecord {
	var out []sendRecord
	for _, r := range l.snapshot() {
		if r.Err != nil {
			out = append(out, r)
		}
	}
	return out
}

// checkCluster verifies the cluster's promises for every room of the
// ledger on every node of c, which must all be running: see checkRoom.
func checkCluster(t *testing.T, c *Cluster, l *ledger) {
	t.Helper()
	checkNodes(t, c, c.Nodes, l)
}

// checkNodes verifies the cluster's promises for every room of the ledger
// on the given nodes (see checkRoom).
func checkNodes(t *testing.T, c *Cluster, nodes []*Node, l *ledger) {
	t.Helper()
	recs := l.snapshot()
	for _, room := range l.rooms() {
		var mine []sendRecord
		for _, r := range recs {
			if r.Room == room {
				mine = append(mine, r)
			}
		}
		checkRoom(t, c, nodes, room, mine)
	}
}

// checkRoom verifies, for room, on the given nodes:
//   - every node's history is gapless, seq 1..N, with no message id twice;
//   - every node has the same history: seq → (id, user, text, ts);
//   - every acknowledged send is in it once, at its acknowledged seq, with
//     its user and text; every message in it is one the test sent, and no
//     text was stored twice (which would mean a retry under a new id).
//
// It polls until the nodes' histories agree, so that a node just restarted
// can catch up, and returns the agreed history.
func checkRoom(t *testing.T, c *Cluster, nodes []*Node, room string, recs []sendRecord) []parley.Message {
	t.Helper()
	var hist []parley.Message
	waitFor(t, settleTimeout, "histories of "+room+" agree on "+nodeNames(nodes), func() error {
		h, err := agreedHistory(c, nodes, room)
		hist = h
		return err
	})
	if errs := verifyLedger(hist, recs); len(errs) > 0 {
		t.Errorf("room %s: %d problem(s); the first ones:\n%s", room, len(errs), joinErrs(errs, 20))
	}
	acked := 0
	for _, r := range recs {
		if r.Acked {
			acked++
		}
	}
	t.Logf("room %s: %d messages, identical on %s; %d sends, %d acknowledged", room, len(hist), nodeNames(nodes), len(recs), acked)
	return hist
}

// nodeNames lists the nodes' names: "n1,n3".
func nodeNames(nodes []*Node) string {
	names := make([]string, len(nodes))
	for i, n := range nodes {
		names[i] = n.Name
	}
	return strings.Join(names, ",")
}

// agreedHistory reads room's history on every given node and returns it if
// every node's is gapless, free of duplicate ids, and the same.
func agreedHistory(c *Cluster, nodes []*Node, room string) ([]parley.Message, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*opTimeout)
	defer cancel()
	var ref []parley.Message
	var refNode *Node
	for _, n := range nodes {
		if !n.Alive() {
			return nil, permanent(fmt.Errorf("%s is down: cannot read its history", n.Name))
		}
		h, err := c.HistoryOn(ctx, n, room)
		if err != nil {
			return nil, err
		}
		if err := wellFormed(h); err != nil {
			return nil, fmt.Errorf("%s: room %s: %w", n.Name, room, err)
		}
		if refNode == nil {
			ref, refNode = h, n
			continue
		}
		if err := sameHistory(ref, h); err != nil {
			return nil, fmt.Errorf("room %s: %s and %s differ: %w", room, refNode.Name, n.Name, err)
		}
	}
	return ref, nil
}

// wellFormed checks that h is seq 1..len(h) in order with no message id
// twice.
func wellFormed(h []parley.Message) error {
	seen := make(map[parley.MsgID]uint64, len(h))
	for i, m := range h {
		if m.Seq != uint64(i+1) {
			return fmt.Errorf("position %d holds seq %d: gap or disorder", i+1, m.Seq)
		}
		if prev, dup := seen[m.ID]; dup {
			return fmt.Errorf("message id %s at seq %d and %d", m.ID, prev, m.Seq)
		}
		seen[m.ID] = m.Seq
	}
	return nil
}

// sameHistory checks that two histories hold the same messages.
func sameHistory(a, b []parley.Message) error {
	if len(a) != len(b) {
		return fmt.Errorf("%d messages against %d", len(a), len(b))
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.Seq != y.Seq || x.ID != y.ID || x.User != y.User || x.Text != y.Text || !x.TS.Equal(y.TS) {
			return fmt.Errorf("seq %d: %s against %s", x.Seq, describe(x), describe(y))
		}
	}
	return nil
}

func describe(m parley.Message) string {
	return fmt.Sprintf("(id %s, user %s, text %q, ts %d)", m.ID, m.User, m.Text, m.TS.UnixNano())
}

// verifyLedger checks a room's history against the sends made to it.
func verifyLedger(h []parley.Message, recs []sendRecord) []error {
	var errs []error
	byID := make(map[parley.MsgID]parley.Message, len(h))
	byText := make(map[string]uint64, len(h))
	for _, m := range h {
		byID[m.ID] = m
		if prev, dup := byText[m.Text]; dup {
			errs = append(errs, fmt.Errorf("text %q stored twice, at seq %d and %d (a retry under a new id?)", m.Text, prev, m.Seq))
		}
		byText[m.Text] = m.Seq
	}
	sent := make(map[parley.MsgID]sendRecord, len(recs))
	for _, r := range recs {
		sent[r.ID] = r
		if r.Err != nil && r.Acked {
			errs = append(errs, fmt.Errorf("send %q: %v", r.Text, r.Err))
		}
		if !r.Acked {
			continue
		}
		m, ok := byID[r.ID]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("LOST: acknowledged message %s %q (seq %d) is not in the history", r.ID, r.Text, r.Seq))
		case m.Seq != r.Seq:
			errs = append(errs, fmt.Errorf("message %s %q acknowledged at seq %d is stored at seq %d", r.ID, r.Text, r.Seq, m.Seq))
		case m.Text != r.Text || m.User != r.User:
			errs = append(errs, fmt.Errorf("message %s stored as (%s, %q), sent as (%s, %q)", r.ID, m.User, m.Text, r.User, r.Text))
		}
	}
	for _, m := range h {
		if _, ok := sent[m.ID]; !ok {
			errs = append(errs, fmt.Errorf("seq %d holds message %s %q that no test client sent", m.Seq, m.ID, m.Text))
		}
	}
	return errs
}

// checkResendIsDuplicate sends up to n acknowledged messages of the ledger
// again with their ids, through a fresh client: each must come back as a
// duplicate with its original seq, and nothing may be stored anew.
func checkResendIsDuplicate(t *testing.T, c *Cluster, l *ledger, n int) {
	t.Helper()
	byUser := make(map[string]*client.Client)
	checked := 0
	for _, r := range l.snapshot() {
		if !r.Acked || checked >= n {
			continue
		}
		checked++
		cl := byUser[r.User]
		if cl == nil {
			cl = c.Dial(t, r.User)
			byUser[r.User] = cl
		}
		ctx, cancel := opContext()
		res, err := cl.SendID(ctx, r.Room, r.ID, r.Text)
		cancel()
		switch {
		case err != nil:
			t.Errorf("resend of %s %q: %v", r.ID, r.Text, err)
		case !res.Duplicate || res.Seq != r.Seq:
			t.Errorf("resend of %s %q (seq %d): got seq %d duplicate=%v, want the original seq as a duplicate", r.ID, r.Text, r.Seq, res.Seq, res.Duplicate)
		}
	}
	t.Logf("%d acknowledged messages resent with their ids", checked)
}

// joinErrs formats at most max errors, one a line.
func joinErrs(errs []error, max int) string {
	var b strings.Builder
	for i, err := range errs {
		if i == max {
			fmt.Fprintf(&b, "  ... and %d more\n", len(errs)-max)
			break
		}
		fmt.Fprintf(&b, "  %v\n", err)
	}
	return b.String()
}

// errCode returns the wire error code err carries, or "".
func errCode(err error) transport.Code {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return ""
}
