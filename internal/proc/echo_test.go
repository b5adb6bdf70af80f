package proc

import (
	"bytes"
	"testing"
)

// TestEchoWriterPrefixesWholeLines writes lines cut at odd places and
// checks each comes out once, whole and prefixed, and that a last line
// without a newline waits.
func TestEchoWriterPrefixesWholeLines(t *testing.T) {
	var out bytes.Buffer
	w := &echoWriter{w: &out, name: "n1"}
	for _, chunk := range []string{"hel", "lo\nwor", "ld\n\nlast"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", chunk, n, err)
		}
	}
	if want := "[n1] hello\n[n1] world\n[n1] \n"; out.String() != want {
		t.Errorf("echoed %q, want %q", out.String(), want)
	}
	w.Write([]byte(" line\n"))
	if want := "[n1] last line\n"; !bytes.HasSuffix(out.Bytes(), []byte(want)) {
		t.Errorf("echoed %q, want it to end with %q", out.String(), want)
	}
}
