package main

import (
	"strings"
	"sync"
	"testing"
)

func TestScreenLive(t *testing.T) {
	var out strings.Builder
	redraws := 0
	s := &screen{w: &out, live: true, redraw: func() { redraws++ }}
	s.println("one", "two")
	if got := out.String(); got != "\r\x1b[2Kone\r\ntwo\r\n" {
		t.Fatalf("between prompts: %q", got)
	}
	if redraws != 0 {
		t.Fatal("redraw asked for while no line is read")
	}
	out.Reset()
	s.prompting.Store(true)
	s.println("three")
	if got := out.String(); got != "\r\x1b[2Kthree\r\n" || redraws != 1 {
		t.Fatalf("while reading a line: %q, %d redraws", got, redraws)
	}
	s.println()
	if redraws != 1 {
		t.Fatal("nothing printed, yet a redraw")
	}
}

func TestScreenPlain(t *testing.T) {
	var out strings.Builder
	s := &screen{w: &out, redraw: func() { t.Fatal("redraw in plain mode") }}
	s.prompting.Store(true)
	s.println("one", "two")
	s.info("note")
	s.error("oops")
	if got := out.String(); got != "one\ntwo\nnote\noops\n" {
		t.Fatalf("%q", got)
	}
}

func TestScreenStyles(t *testing.T) {
	var out strings.Builder
	s := &screen{w: &out, color: colorBasic}
	s.info("note")
	s.error("oops")
	if got := out.String(); got != "\x1b[2mnote\x1b[0m\n\x1b[31moops\x1b[0m\n" {
		t.Fatalf("%q", got)
	}
}

// TestScreenWritesWhole checks that concurrent prints never interleave:
// each is one write.
func TestScreenWritesWhole(t *testing.T) {
	w := &recordingWriter{}
	s := &screen{w: w, live: true}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.println(strings.Repeat(string(rune('a'+i)), 100), "second row")
		}()
	}
	wg.Wait()
	if len(w.writes) != 20 {
		t.Fatalf("%d writes for 20 prints", len(w.writes))
	}
	for _, b := range w.writes {
		if !strings.HasPrefix(b, eraseRow) || !strings.HasSuffix(b, "\r\nsecond row\r\n") {
			t.Fatalf("write %q", b)
		}
	}
}

type recordingWriter struct {
	mu     sync.Mutex
	writes []string
}

func (w *recordingWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes = append(w.writes, string(p))
	return len(p), nil
}
