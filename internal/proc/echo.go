package proc

import (
	"bytes"
	"io"
	"sync"
)

// echoMu serialises the lines every echoWriter writes, so that lines of
// two processes never interleave.
var echoMu sync.Mutex

// echoWriter writes each complete line written to it to w, prefixed with
// "[name] ". A last line without a newline is not written.
type echoWriter struct {
	w    io.Writer
	name string

	mu      sync.Mutex
	partial []byte
}

func (e *echoWriter) Write(p []byte) (int, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.partial = append(e.partial, p...)
	for {
		i := bytes.IndexByte(e.partial, '\n')
		if i < 0 {
			break
		}
		line := e.partial[:i+1]
		echoMu.Lock()
		io.WriteString(e.w, "["+e.name+"] ")
		e.w.Write(line)
		echoMu.Unlock()
		e.partial = e.partial[i+1:]
	}
	// Keep the partial line only: the buffer does not grow without bound.
	e.partial = append([]byte(nil), e.partial...)
	return len(p), nil
}
