package logdedup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flush goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// records returns the JSON records written so far.
func (s *syncBuffer) records(t *testing.T) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("bad JSON line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func waitFor(t *testing.T, d time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A thousand copies of an error make one line at once and one summary
// line carrying the count of the others; nothing is lost from the count.
func TestRepeatedErrorIsLoggedOnceWithACount(t *testing.T) {
	var buf syncBuffer
	const interval = 200 * time.Millisecond
	log := slog.New(New(slog.NewJSONHandler(&buf, nil), slog.LevelWarn, interval)).With("node", 1)
	const n = 1000
	start := time.Now()
	for i := range n {
		log.Error("disk full", "attempt", i)
	}
	waitFor(t, 10*time.Second, func() error {
		total := 0
		for _, r := range buf.records(t) {
			if r["msg"] != "disk full" || r["node"] != float64(1) {
				return fmt.Errorf("unexpected record %v", r)
			}
			total++
			if rep, ok := r["repeated"].(float64); ok {
				total += int(rep) - 1
			}
		}
		if total != n {
			return fmt.Errorf("records account for %d errors, want %d", total, n)
		}
		return nil
	})
	recs := buf.records(t)
	if most := 2 + int(time.Since(start)/interval); len(recs) > most || len(recs) < 2 {
		t.Fatalf("%d lines for %d errors", len(recs), n)
	}
	if _, ok := recs[0]["repeated"]; ok || recs[0]["attempt"] != float64(0) {
		t.Fatalf("first line should be the first error as it was: %v", recs[0])
	}
	if last := recs[len(recs)-1]; last["attempt"] != float64(n-1) {
		t.Fatalf("the summary should carry the last error's attributes: %v", last)
	}
}

// Different messages, levels below the threshold, and an error that comes
// again after its window are all logged as they come.
func TestDistinctAndInfrequentRecordsPass(t *testing.T) {
	var buf syncBuffer
	h := New(slog.NewJSONHandler(&buf, nil), slog.LevelWarn, time.Hour)
	log := slog.New(h)
	for range 5 {
		log.Info("joined")
	}
	log.Error("a")
	log.Error("b")
	log.Warn("a")
	if got := len(buf.records(t)); got != 8 {
		t.Fatalf("%d lines, want 8 (5 info, 3 distinct)", got)
	}
	// End every window, as an hour passing would.
	h.st.mu.Lock()
	for _, w := range h.st.seen {
		w.end = time.Now().Add(-time.Nanosecond)
	}
	h.st.mu.Unlock()
	log.Error("a")
	if got := len(buf.records(t)); got != 9 {
		t.Fatalf("an error after its window was held back: %d lines", got)
	}
}
