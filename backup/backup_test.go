package backup

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
)

func sample() []Record {
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 123456789, time.UTC)
	id := func(i int) parley.MsgID { return parley.NewMsgID(t0.Add(time.Duration(i) * time.Second)) }
	return []Record{
		{Header: &Header{Version: Version, Cluster: "c1", ExportedAt: t0, Rooms: 2}},
		{Room: &Room{Name: "general", Creator: "alice", Created: t0, LastSeq: 2, Members: 1}},
		{Member: &Member{Room: "general", User: "alice", Joined: t0, Read: 2}},
		{Message: &parley.Message{Room: "general", Seq: 1, ID: id(1), User: "alice", TS: t0, Kind: parley.KindJoin, Text: "alice joined"}},
		{Message: &parley.Message{Room: "general", Seq: 2, ID: id(2), User: "alice", TS: t0.Add(1), Text: "<b>\"hi\"</b>\n\x00 ünïcode"}},
		{Room: &Room{Name: "dm.alice.bob", LastSeq: 1, Members: 2}},
		{Member: &Member{Room: "dm.alice.bob", User: "alice", Joined: t0, Read: 1}},
		{Member: &Member{Room: "dm.alice.bob", User: "bob", Joined: t0}},
		{Message: &parley.Message{Room: "dm.alice.bob", Seq: 1, ID: id(3), User: "bob", TS: t0.Add(2), Text: "psst"}},
	}
}

func encode(t testing.TB, recs []Record) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readAll(data []byte) ([]Record, error) {
	r := NewReader(bytes.NewReader(data))
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestRoundTrip(t *testing.T) {
	want := sample()
	data := encode(t, want)
	if n := bytes.Count(data, []byte("\n")); n != len(want) {
		t.Fatalf("%d lines for %d records:\n%s", n, len(want), data)
	}
	got, err := readAll(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back\n%s\nwant\n%s", encode(t, got), data)
	}
	if !strings.HasPrefix(string(data), `{"type":"parley-backup","version":1,"cluster":"c1","exported_at":"2026-11-30T12:00:00.123456789Z","rooms":2}`+"\n") {
		t.Fatalf("header line: %s", data)
	}
}

// TestBadInput: every kind of bad input is refused with the number of the
// line at fault.
func TestBadInput(t *testing.T) {
	good := strings.Split(strings.TrimSuffix(string(encode(t, sample())), "\n"), "\n")
	with := func(i int, l string) string {
		lines := append([]string(nil), good...)
		lines[i] = l
		return strings.Join(lines, "\n") + "\n"
	}
	without := func(i int) string {
		lines := append(append([]string(nil), good[:i]...), good[i+1:]...)
		return strings.Join(lines, "\n") + "\n"
	}
	for _, tc := range []struct {
		name, in string
		line     int
		want     string
	}{
		{"empty file", "", 0, "no header"},
		{"not JSON", with(3, "{nope"), 4, "not a backup record"},
		{"unknown field", with(2, strings.Replace(good[2], `"read"`, `"reed"`, 1)), 3, "unknown field"},
		{"two records", with(1, good[1]+" {}"), 2, "more than one record"},
		{"unknown version", with(0, strings.Replace(good[0], `"version":1`, `"version":7`, 1)), 1, "format version 7"},
		{"no header", without(0), 1, "before the header"},
		{"too long", with(4, `{"type":"msg","text":"`+strings.Repeat("x", MaxLine)+`"}`), 5, "longer than"},
		{"gap", without(3), 4, "seq 2 where seq 1 was due"},
		{"missing message", without(4), 5, "room general ends after 1 of its 2 messages"},
		{"missing member", without(7), 8, "1 members of 2 before its messages"},
		{"missing room at the end", strings.Join(good[:5], "\n") + "\n", 5, "after 1 of the header's 2 rooms"},
		{"unknown type", with(2, `{"type":"secret"}`), 3, `unknown record type "secret"`},
		{"unknown kind", with(3, strings.Replace(good[3], `"kind":"join"`, `"kind":"shout"`, 1)), 4, `unknown kind "shout"`},
		{"another's DM", with(8, strings.Replace(good[8], `"user":"bob"`, `"user":"carol"`, 1)), 9, "carol cannot write"},
		{"read past the end", with(2, strings.Replace(good[2], `"read":2`, `"read":3`, 1)), 3, "past the room's last seq"},
		{"room twice", strings.Join(append(good[:5:5], good[1]), "\n") + "\n", 6, "room general a second time"},
		{"bad room name", with(1, strings.Replace(good[1], `"room":"general"`, `"room":"no spaces"`, 1)), 2, "room name"},
	} {
		_, err := readAll([]byte(tc.in))
		var le *LineError
		if !errors.As(err, &le) || le.Line != tc.line || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("%s: %v, want line %d: …%s…", tc.name, err, tc.line, tc.want)
		}
	}
}

// FuzzReader reads arbitrary files: no panic, and what reads without an
// error writes back to a file that reads the same.
func FuzzReader(f *testing.F) {
	f.Add(encode(f, sample()))
	f.Add([]byte(`{"type":"parley-backup","version":1,"exported_at":"2026-01-01T00:00:00Z","rooms":0}` + "\n"))
	f.Add([]byte("{}\n\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := readAll(data)
		if err != nil {
			var le *LineError
			if !errors.As(err, &le) {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		again, err := readAll(encode(t, recs))
		if err != nil {
			t.Fatalf("written back, it reads as %v", err)
		}
		if normalise(again) != normalise(recs) {
			t.Fatalf("written back, it reads differently")
		}
	})
}

// normalise drops what JSON does not keep of a time: its location.
func normalise(recs []Record) string {
	var b strings.Builder
	for _, r := range recs {
		b.Write(encodeLine(r))
	}
	return b.String()
}

func encodeLine(r Record) []byte {
	var buf bytes.Buffer
	w := NewWriter(&buf)
	w.Write(r)
	w.Flush()
	return buf.Bytes()
}
