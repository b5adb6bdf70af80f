package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestBackupBar: the bar is drawn and cleared only on a terminal.
func TestBackupBar(t *testing.T) {
	var tty, pipe bytes.Buffer
	for _, b := range []*backupBar{newBackupBar(&tty, true), newBackupBar(&pipe, false)} {
		b.show("general", 5, 10, "5/10 messages")
		b.show("general", 10, 10, "10/10 messages") // the last step is always drawn
		b.clear()
	}
	if pipe.Len() != 0 {
		t.Fatalf("drew %q where stderr is no terminal", pipe.String())
	}
	out := tty.String()
	if !strings.Contains(out, "[===============               ] general, 5/10 messages") ||
		!strings.Contains(out, "[==============================] general, 10/10 messages") || !strings.HasSuffix(out, "\r\033[K") {
		t.Fatalf("drew %q", out)
	}
}
