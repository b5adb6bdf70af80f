package rafttcp

import (
	"fmt"
	"io"
	"time"
)

// deadlineWriter is what writeFrame writes to: a connection.
type deadlineWriter interface {
	io.Writer
	SetWriteDeadline(time.Time) error
}

// writeFrame writes a sealed frame: in one Write, so in one TLS record
// and one system call, unless it is over writeChunk bytes. (dragonboat
// writes magic number, header and body apart: three records, three
// system calls, and a receiver woken up to three times, per frame.)
func writeFrame(w deadlineWriter, frame []byte) error {
	for len(frame) > 0 {
		n := min(len(frame), writeChunk)
		if err := w.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
			return fmt.Errorf("rafttcp: %w", err)
		}
		if _, err := w.Write(frame[:n]); err != nil {
			return fmt.Errorf("rafttcp: write: %w", err)
		}
		frame = frame[n:]
	}
	return nil
}

// frameBuffer is where one connection builds its frames.
type frameBuffer struct {
	buf []byte
}

// frame returns a frame with room for a body of up to n bytes after its
// prefix. It is the kept buffer when that is large enough; a new one,
// kept if it is at most keepBuffer bytes, when not.
func (b *frameBuffer) frame(n int) []byte {
	size := prefixSize + n
	if cap(b.buf) >= size {
		return b.buf[:size]
	}
	f := make([]byte, size)
	if size <= keepBuffer {
		b.buf = f
	}
	return f
}
