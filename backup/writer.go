package backup

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Writer writes records as lines of a backup. It does not check their
// order: Reader does, when the backup is read.
type Writer struct {
	w   *bufio.Writer
	buf bytes.Buffer
	enc *json.Encoder
}

// NewWriter returns a Writer to w; call Flush when done.
func NewWriter(w io.Writer) *Writer {
	bw := &Writer{w: bufio.NewWriterSize(w, 64<<10)}
	bw.enc = json.NewEncoder(&bw.buf)
	bw.enc.SetEscapeHTML(false)
	return bw
}

// Write writes r as one line.
func (w *Writer) Write(r Record) error {
	l := lineOf(r)
	if l.Type == "" {
		return fmt.Errorf("backup: write: empty record")
	}
	w.buf.Reset()
	if err := w.enc.Encode(l); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	if w.buf.Len() > MaxLine {
		return fmt.Errorf("backup: write: a %s line of %d bytes, limit %d", l.Type, w.buf.Len(), MaxLine)
	}
	if _, err := w.w.Write(w.buf.Bytes()); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}

// Flush writes what is buffered.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("backup: write: %w", err)
	}
	return nil
}
