package main

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

var (
	testID = func() parley.MsgID {
		id, err := parley.ParseMsgID("01JD5Z7Q8W4M3N2P1R0S9T8V7X")
		if err != nil {
			panic(err)
		}
		return id
	}()
	testTS = time.Date(2025, 11, 3, 15, 4, 5, 123456789, time.UTC)
)

func testPrinter(asJSON bool) (*printer, *bytes.Buffer) {
	var b bytes.Buffer
	p := newPrinter(&b, asJSON)
	p.loc = time.UTC
	return p, &b
}

// jsonKeys returns the keys of a JSON object, in order of appearance.
func jsonKeys(t *testing.T, line string) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%q is not a JSON object", line)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestSentPlain(t *testing.T) {
	p, b := testPrinter(false)
	p.sent(client.SendResult{Room: "general", Seq: 12, ID: testID, TS: testTS})
	if want := "sent general#12 01JD5Z7Q8W4M3N2P1R0S9T8V7X\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestSentJSON(t *testing.T) {
	p, b := testPrinter(true)
	p.sent(client.SendResult{Room: "general", Seq: 12, ID: testID, TS: testTS})
	p.sent(client.SendResult{Room: "general", Seq: 12, ID: testID, TS: testTS, Duplicate: true})
	want := `{"room":"general","seq":12,"id":"01JD5Z7Q8W4M3N2P1R0S9T8V7X"}` + "\n" +
		`{"room":"general","seq":12,"id":"01JD5Z7Q8W4M3N2P1R0S9T8V7X","duplicate":true}` + "\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestSentDuplicatePlain(t *testing.T) {
	p, b := testPrinter(false)
	p.sent(client.SendResult{Room: "general", Seq: 12, ID: testID, TS: testTS, Duplicate: true})
	if want := "sent general#12 01JD5Z7Q8W4M3N2P1R0S9T8V7X (duplicate: sent before)\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestMessagePlain(t *testing.T) {
	p, b := testPrinter(false)
	p.message(parley.Message{Room: "general", Seq: 12, ID: testID, User: "alice", TS: testTS, Text: "hi"})
	if want := "[15:04:05] general#12 <alice> hi\n"; b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestMessagePlainLocalTime(t *testing.T) {
	p, b := testPrinter(false)
	p.loc = time.FixedZone("CET", 3600)
	p.message(parley.Message{Room: "general", Seq: 1, User: "alice", TS: testTS, Text: "hi"})
	if !strings.HasPrefix(b.String(), "[16:04:05] ") {
		t.Fatalf("got %q, want the time in the local zone", b.String())
	}
}

func TestMessagePlainEscapesControls(t *testing.T) {
	p, b := testPrinter(false)
	p.message(parley.Message{Room: "general", Seq: 1, User: "mal\x1b[2J", TS: testTS, Text: "two\nlines\tand \u202eevil\u0007"})
	want := `[15:04:05] general#1 <mal\x1b[2J> two\nlines` + "\t" + `and \u202eevil\a` + "\n"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestMessageJSON(t *testing.T) {
	p, b := testPrinter(true)
	p.message(parley.Message{Room: "general", Seq: 12, ID: testID, User: "alice", TS: testTS, Text: "<hi> & \"bye\"\n"})
	line := b.String()
	if keys := jsonKeys(t, line); !slices.Equal(keys, []string{"room", "seq", "id", "user", "ts", "text"}) {
		t.Fatalf("keys %q", keys)
	}
	want := `{"room":"general","seq":12,"id":"01JD5Z7Q8W4M3N2P1R0S9T8V7X","user":"alice","ts":"2025-11-03T15:04:05.123456789Z","text":"<hi> & \"bye\"\n"}` + "\n"
	if line != want {
		t.Fatalf("got  %s\nwant %s", line, want)
	}
	var m struct{ TS string }
	json.Unmarshal([]byte(line), &m)
	if ts, err := time.Parse(time.RFC3339Nano, m.TS); err != nil || !ts.Equal(testTS) {
		t.Fatalf("ts %q does not round-trip: %v", m.TS, err)
	}
}

var testStatus = transport.StatusResponse{
	Nodes: []transport.NodeInfo{
		{ID: 1, Name: "pi-one", Addr: "10.0.0.1:7400", Up: true, Voters: 2, Leaders: 1},
		{ID: 12, Name: "laptop", Addr: "10.0.0.12:7400", State: "draining", Voters: 1},
	},
	Shards: []transport.ShardStatus{
		{ID: 1, Leader: 1, Term: 7, Replicas: []uint64{1, 12}, NonVoting: []uint64{3}},
		{ID: 2, Term: 2},
		{ID: 4, Leader: 1, Term: 3, Replicas: []uint64{1, 12}, NonVoting: []uint64{3}, Wanted: []uint64{1, 3}},
	},
}

func TestStatusJSON(t *testing.T) {
	p, b := testPrinter(true)
	p.status(testStatus)
	want := `{"nodes":[{"id":1,"name":"pi-one","addr":"10.0.0.1:7400","up":true,"state":"active","voters":2,"leaders":1},` +
		`{"id":12,"name":"laptop","addr":"10.0.0.12:7400","up":false,"state":"draining","voters":1,"leaders":0}],` +
		`"shards":[{"id":1,"leader":1,"term":7,"replicas":[1,12],"non_voting":[3]},{"id":2,"leader":0,"term":2,"replicas":[],"non_voting":[]},` +
		`{"id":4,"leader":1,"term":3,"replicas":[1,12],"non_voting":[3],"moving":[1,3]}]}` + "\n"
	if b.String() != want {
		t.Fatalf("got  %s\nwant %s", b.String(), want)
	}

	p, b = testPrinter(true)
	p.status(transport.StatusResponse{})
	if want := `{"nodes":[],"shards":[]}` + "\n"; b.String() != want {
		t.Fatalf("empty status: got %q, want %q", b.String(), want)
	}
}

func TestStatusPlain(t *testing.T) {
	p, b := testPrinter(false)
	p.status(testStatus)
	want := `ID  NAME    ADDR            UP   STATE     VOTERS  LEADS
1   pi-one  10.0.0.1:7400   yes  active    2       1
12  laptop  10.0.0.12:7400  no   draining  1       0

SHARD  LEADER  TERM  REPLICAS
1      1       7     1,12 (non-voting 3)
2      none    2     -
4      1       3     1,12 (non-voting 3) moving to 1,3
`
	if b.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", b.String(), want)
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"plain text":       "plain text",
		"tab\tkept":        "tab\tkept",
		"ünïcödé 👋":        "ünïcödé 👋",
		"cr\r":             `cr\r`,
		"nul\x00":          `nul\x00`,
		"c1\u0085":         `c1\u0085`,
		"sep\u2028":        `sep\u2028`,
		"bidi\u202e\u2066": `bidi\u202e\u2066`,
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}
