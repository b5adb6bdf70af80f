package mapreduce

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// FuzzStartRequest decodes an analytics.start body and checks its
// parameters as a coordinator does: any input is refused or accepted
// without a panic, and what is accepted stays within the bounds.
func FuzzStartRequest(f *testing.F) {
	for _, r := range []transport.AnalyticsRequest{
		{Job: "search", Params: transport.AnalyticsParams{Query: `error-\d+`, Limit: 5}},
		{Job: "activity", Params: transport.AnalyticsParams{By: "user", Since: 1, Until: 5, Rooms: []string{"general"}}},
		{Job: "top-words", Params: transport.AnalyticsParams{Limit: MaxLimit + 1}},
		{Job: "nope"},
	} {
		b, err := parley.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var r transport.AnalyticsRequest
		if err := parley.Unmarshal(body, &r); err != nil {
			return
		}
		job, err := Lookup(r.Job)
		if err != nil {
			return
		}
		p, err := ParseParams(job, r.Params)
		if err != nil {
			return
		}
		if p.Limit < 0 || p.Limit > MaxLimit || len(p.Rooms) > MaxRooms || (job.NeedsQuery && p.re == nil) {
			t.Fatalf("accepted out of bounds: %+v", p.AnalyticsParams)
		}
	})
}

// FuzzRunFile reads arbitrary bytes as a fetched partition, as a reducer
// does: every record decodes or the read fails with an error, and a
// merge of the file never panics.
func FuzzRunFile(f *testing.F) {
	var good bytes.Buffer
	enc := cbor.NewEncoder(&good)
	for _, r := range []Record{{Key: "a", Value: Value{N: 1}}, {Key: "b", Value: Value{Set: []string{"x"}}}, {Key: "c", Value: Value{Nums: []int64{1, 2}}}} {
		if err := enc.Encode(r); err != nil {
			f.Fatal(err)
		}
	}
	f.Add(good.Bytes())
	f.Add(good.Bytes()[:good.Len()-1])
	f.Add([]byte{0x9f, 0x9f, 0x9f})
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "run")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = mergeInto([]string{path}, func(string, []Value) error { return nil })
	})
}
