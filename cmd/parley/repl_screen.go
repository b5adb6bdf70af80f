package main

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"
)

// Terminal control sequences the screen writes in live mode.
const (
	// eraseRow returns the cursor to column 0 and erases the whole row:
	// the prompt row, in single-line mode, is exactly one row.
	eraseRow = "\r\x1b[2K"
	newRow   = "\r\n"
)

// screen serialises everything the REPL prints, from every goroutine.
//
// In live mode a line editor (liner, in single-line mode) owns the last
// row of the terminal: the prompt and the half-typed line. Printing there
// erases that row, writes the lines, and leaves the cursor at the start of
// a fresh row; if the editor is reading a line at that moment, redraw is
// then called to make it draw its prompt, its buffer and its cursor again
// on that row. See repl_input.go for how liner is made to redraw.
//
// Otherwise (output not a terminal) lines are written plainly.
type screen struct {
	w    io.Writer
	live bool
	// redraw asks the line editor to redraw its row. It is called with mu
	// held, after the write, and must not block.
	redraw func()
	color  colorMode

	mu sync.Mutex
	// prompting is true while the editor is reading a line.
	prompting atomic.Bool
}

// println prints each of lines on a row of its own. Each line must be
// free of control characters other than SGR colours (see clean).
func (s *screen) println(lines ...string) {
	if len(lines) == 0 {
		return
	}
	var b strings.Builder
	if s.live {
		b.WriteString(eraseRow)
		for _, l := range lines {
			b.WriteString(l)
			b.WriteString(newRow)
		}
	} else {
		for _, l := range lines {
			b.WriteString(l)
			b.WriteString("\n")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// One write, so that no output of the line editor lands inside it.
	io.WriteString(s.w, b.String())
	if s.live && s.prompting.Load() && s.redraw != nil {
		s.redraw()
	}
}

// info prints a dimmed line: notices and the REPL's own remarks.
func (s *screen) info(line string) {
	s.println(paint(s.color, sgrDim, line))
}

// error prints one error line, in red.
func (s *screen) error(line string) {
	s.println(paint(s.color, sgrError, line))
}

// clearRow erases the row the cursor is on, in live mode: the prompt row
// of a line the REPL stopped reading.
func (s *screen) clearRow() {
	if !s.live {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	io.WriteString(s.w, eraseRow)
}
