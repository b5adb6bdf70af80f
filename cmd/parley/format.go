package main

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// printer writes command output as plain text or JSON lines.
type printer struct {
	w    io.Writer
	json bool
	// loc is the time zone of plain timestamps (JSON ones are UTC).
	loc *time.Location
}

func newPrinter(w io.Writer, asJSON bool) *printer {
	return &printer{w: w, json: asJSON, loc: time.Local}
}

// sentJSON is the JSON line of an acknowledged send.
type sentJSON struct {
	Room string       `json:"room"`
	Seq  uint64       `json:"seq"`
	ID   parley.MsgID `json:"id"`
	// Duplicate is there only when the id had been committed before.
	Duplicate bool `json:"duplicate,omitempty"`
}

// sent prints an acknowledged send: "sent general#12 01JD...".
func (p *printer) sent(r client.SendResult) error {
	if p.json {
		return p.writeJSON(sentJSON{Room: r.Room, Seq: r.Seq, ID: r.ID, Duplicate: r.Duplicate})
	}
	dup := ""
	if r.Duplicate {
		dup = " (duplicate: sent before)"
	}
	_, err := fmt.Fprintf(p.w, "sent %s#%d %s%s\n", clean(r.Room), r.Seq, r.ID, dup)
	return err
}

// messageJSON is the JSON line of a message.
type messageJSON struct {
	Room string       `json:"room"`
	Seq  uint64       `json:"seq"`
	ID   parley.MsgID `json:"id"`
	User string       `json:"user"`
	TS   string       `json:"ts"`
	Text string       `json:"text"`
	// Kind is only there for a notice: "join" or "leave".
	Kind string `json:"kind,omitempty"`
}

// message prints a message: "[15:04:05] general#12 <alice> hi" in local
// time ("[15:04:05] general#13 * alice joined" for a notice), or a JSON
// line with ts in RFC 3339 UTC with nanoseconds and, for a notice only,
// its kind.
// messages prints msgs in order, as message prints each.
func (p *printer) messages(msgs []parley.Message) error {
	for _, m := range msgs {
		if err := p.message(m); err != nil {
			return err
		}
	}
	return nil
}

func (p *printer) message(m parley.Message) error {
	ts := m.TS
	if p.json {
		return p.writeJSON(messageJSON{
			Room: m.Room,
			Seq:  m.Seq,
			ID:   m.ID,
			User: m.User,
			TS:   ts.UTC().Format(time.RFC3339Nano),
			Text: m.Text,
			Kind: m.Kind,
		})
	}
	if m.Kind != "" {
		_, err := fmt.Fprintf(p.w, "[%s] %s#%d * %s\n",
			ts.In(p.loc).Format("15:04:05"), clean(m.Room), m.Seq, clean(m.Text))
		return err
	}
	_, err := fmt.Fprintf(p.w, "[%s] %s#%d <%s> %s\n",
		ts.In(p.loc).Format("15:04:05"), clean(m.Room), m.Seq, clean(m.User), clean(m.Text))
	return err
}

// statusJSON is the JSON form of status.
type statusJSON struct {
	Nodes  []nodeJSON  `json:"nodes"`
	Shards []shardJSON `json:"shards"`
}

type nodeJSON struct {
	ID      uint64 `json:"id"`
	Name    string `json:"name"`
	Addr    string `json:"addr"`
	Up      bool   `json:"up"`
	State   string `json:"state"`
	Voters  int    `json:"voters"`
	Leaders int    `json:"leaders"`
}

type shardJSON struct {
	ID        uint64   `json:"id"`
	Leader    uint64   `json:"leader"`
	Term      uint64   `json:"term"`
	Replicas  []uint64 `json:"replicas"`
	NonVoting []uint64 `json:"non_voting"`
	// Moving is the voters the placement wants while a move is in
	// progress, else absent.
	Moving []uint64 `json:"moving,omitempty"`
}

// nodeState names a node's state for people: "active", "draining" or
// "dead".
func nodeState(s string) string {
	if s == "" {
		return "active"
	}
	return s
}

// moving returns the voters a shard is moving to, nil when it is where the
// placement wants it.
func moving(s transport.ShardStatus) []uint64 {
	if len(s.Wanted) == 0 {
		return nil
	}
	same := len(s.Wanted) == len(s.Replicas) && len(s.NonVoting) == 0
	for _, w := range s.Wanted {
		same = same && slices.Contains(s.Replicas, w)
	}
	if same {
		return nil
	}
	return s.Wanted
}

// status prints the cluster's nodes and shards as two tables, or one JSON
// object.
func (p *printer) status(st transport.StatusResponse) error {
	if p.json {
		out := statusJSON{Nodes: []nodeJSON{}, Shards: []shardJSON{}}
		for _, n := range st.Nodes {
			out.Nodes = append(out.Nodes, nodeJSON{ID: n.ID, Name: n.Name, Addr: n.Addr, Up: n.Up,
				State: nodeState(n.State), Voters: n.Voters, Leaders: n.Leaders})
		}
		for _, s := range st.Shards {
			r := append([]uint64{}, s.Replicas...)
			nv := append([]uint64{}, s.NonVoting...)
			out.Shards = append(out.Shards, shardJSON{ID: s.ID, Leader: s.Leader, Term: s.Term, Replicas: r, NonVoting: nv, Moving: moving(s)})
		}
		return p.writeJSON(out)
	}
	var b strings.Builder
	nodes := [][]string{{"ID", "NAME", "ADDR", "UP", "STATE", "VOTERS", "LEADS"}}
	for _, n := range st.Nodes {
		up := "no"
		if n.Up {
			up = "yes"
		}
		nodes = append(nodes, []string{strconv.FormatUint(n.ID, 10), clean(n.Name), clean(n.Addr), up,
			clean(nodeState(n.State)), strconv.Itoa(n.Voters), strconv.Itoa(n.Leaders)})
	}
	writeTable(&b, nodes)
	b.WriteString("\n")
	shards := [][]string{{"SHARD", "LEADER", "TERM", "REPLICAS"}}
	for _, s := range st.Shards {
		leader := "none"
		if s.Leader != 0 {
			leader = strconv.FormatUint(s.Leader, 10)
		}
		replicas := joinIDs(s.Replicas)
		if len(s.NonVoting) > 0 {
			replicas += " (non-voting " + joinIDs(s.NonVoting) + ")"
		}
		if m := moving(s); m != nil {
			replicas += " moving to " + joinIDs(m)
		}
		shards = append(shards, []string{strconv.FormatUint(s.ID, 10), leader, strconv.FormatUint(s.Term, 10), replicas})
	}
	writeTable(&b, shards)
	_, err := io.WriteString(p.w, b.String())
	return err
}

// writeTable writes rows with columns padded to their widest cell, two
// spaces apart, without trailing blanks.
func writeTable(b *strings.Builder, rows [][]string) {
	var widths []int
	for _, r := range rows {
		for i, cell := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], len([]rune(cell)))
		}
	}
	for _, r := range rows {
		for i, cell := range r {
			b.WriteString(cell)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-len([]rune(cell))+2))
			}
		}
		b.WriteString("\n")
	}
}

func joinIDs(ids []uint64) string {
	if len(ids) == 0 {
		return "-"
	}
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatUint(id, 10)
	}
	return strings.Join(s, ",")
}

func (p *printer) writeJSON(v any) error {
	enc := json.NewEncoder(p.w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// clean makes text from the network safe to print on a terminal: control
// characters (which could move the cursor or recolour the screen), line
// separators and bidirectional overrides are shown escaped, as \n, \x1b or
// \u202e; tabs are kept.
func clean(s string) string {
	if strings.IndexFunc(s, isUnsafe) < 0 {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if !isUnsafe(r) {
			b.WriteRune(r)
			continue
		}
		q := strconv.QuoteRune(r) // '\n', '\x1b', '\u0085'
		b.WriteString(q[1 : len(q)-1])
	}
	return b.String()
}

func isUnsafe(r rune) bool {
	return r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029' ||
		unicode.Is(unicode.Bidi_Control, r))
}
