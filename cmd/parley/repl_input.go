package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/parleychat/parley/internal/atomicfile"
	"github.com/peterh/liner"
)

// historyFile is the name of the REPL's input history in its config
// directory.
const historyFile = "history"

// lineSource is where the REPL reads its input lines from.
type lineSource interface {
	// readLine shows prompt (if the source has one) and returns the next
	// line without its end, io.EOF at the end of input, or ctx's error.
	readLine(ctx context.Context, prompt string) (string, error)
	// close releases the source (and restores the terminal).
	close() error
}

// editor reads lines with liner on a terminal.
//
// Messages that arrive while the user types are printed by the screen
// above the prompt row; liner must then draw its prompt and half-typed
// line again, with the cursor where it was. liner has no call for that,
// but it redraws exactly that when the terminal's size changes: its key
// reader waits on both the keyboard and a SIGWINCH channel, and on
// SIGWINCH it refreshes the prompt, the buffer and the cursor position.
// So the screen, after printing, sends SIGWINCH to this process (see
// redrawPrompt). The redraw also happens on a real resize, and a spare
// one (say, a signal that arrives between two prompts) only draws the
// same row again.
type editor struct {
	st       *liner.State
	scr      *screen
	histPath string
	// dirty is set when a line was added since the history was saved.
	dirty atomic.Bool
}

// redrawPrompt makes liner redraw its prompt row: see editor.
func redrawPrompt() {
	syscall.Kill(os.Getpid(), syscall.SIGWINCH)
}

// newEditor puts the terminal in raw mode and reads the input history
// from histPath ("" for none). A history that cannot be read is reported
// on the screen and otherwise ignored.
func newEditor(scr *screen, comp *completer, histPath string) *editor {
	st := liner.NewLiner()
	st.SetMultiLineMode(false) // the prompt is one row: see screen
	st.SetTabCompletionStyle(liner.TabCircular)
	st.SetWordCompleter(comp.complete)
	ed := &editor{st: st, scr: scr, histPath: histPath}
	if histPath != "" {
		f, err := os.Open(histPath)
		switch {
		case err == nil:
			if _, err := st.ReadHistory(f); err != nil {
				scr.error(fmt.Sprintf("input history %s: %v", histPath, err))
			}
			f.Close()
		case !errors.Is(err, fs.ErrNotExist):
			scr.error(fmt.Sprintf("input history: %v", err))
		}
	}
	return ed
}

// readLine reads one line with liner. liner cannot be interrupted, so
// it runs in a goroutine of its own and readLine stops waiting for it when
// ctx ends (the REPL then exits).
func (ed *editor) readLine(ctx context.Context, prompt string) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	ed.scr.prompting.Store(true)
	go func() {
		line, err := ed.st.Prompt(prompt)
		ed.scr.prompting.Store(false)
		ch <- result{line, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", r.err
		}
		if strings.TrimSpace(r.line) != "" {
			ed.st.AppendHistory(r.line)
			ed.dirty.Store(true)
		}
		return r.line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// saveHistory writes the input history, mode 0600, if a line was added
// since the last save. It may run while a line is being read.
func (ed *editor) saveHistory() error {
	if ed.histPath == "" || !ed.dirty.Swap(false) {
		return nil
	}
	var b bytes.Buffer
	if _, err := ed.st.WriteHistory(&b); err != nil {
		ed.dirty.Store(true)
		return fmt.Errorf("input history: %w", err)
	}
	if err := atomicfile.Write(ed.histPath, b.Bytes(), 0o600); err != nil {
		ed.dirty.Store(true)
		return fmt.Errorf("input history: %w", err)
	}
	return nil
}

// close saves the history and gives the terminal back its mode. If a
// line was still being read (the REPL was told to stop), its prompt row is
// erased, so that the shell's prompt starts on a clean row.
func (ed *editor) close() error {
	if ed.scr.prompting.Swap(false) {
		ed.scr.clearRow()
	}
	err := ed.saveHistory()
	if cerr := ed.st.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("terminal: %w", cerr)
	}
	return err
}

// plainSource reads lines from a reader that is not a terminal, such as
// a pipe. It shows no prompt.
type plainSource struct {
	lines chan string
	done  chan struct{} // closed at the end of input
	err   error         // why the input ended; read after done
	quit  chan struct{} // closed by close
	once  sync.Once
}

func newPlainSource(r io.Reader) *plainSource {
	p := &plainSource{lines: make(chan string), done: make(chan struct{}), quit: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			select {
			case p.lines <- strings.TrimSuffix(sc.Text(), "\r"):
			case <-p.quit:
				return
			}
		}
		p.err = sc.Err()
	}()
	return p
}

// readLine returns the next line; the prompt is not shown.
func (p *plainSource) readLine(ctx context.Context, _ string) (string, error) {
	select {
	case l := <-p.lines:
		return l, nil
	case <-p.done:
		if p.err != nil {
			return "", fmt.Errorf("input: %w", p.err)
		}
		return "", io.EOF
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// close stops handing out lines. The reader belongs to the caller: a read
// in progress ends only when the reader does.
func (p *plainSource) close() error {
	p.once.Do(func() { close(p.quit) })
	return nil
}
