// Package conffile reads Parley's configuration files: one setting per line,
//
//	# a comment
//	key = value
//	name = "a value with \"quotes\" or a leading space"
//
// Keys are lower-case letters, digits and dashes (a flag's name without its
// dashes). A value runs to the end of the line with the spaces around it
// removed; a value in double quotes is unquoted like a Go string. Blank
// lines and lines whose first non-space character is # are ignored. A key
// may appear once. Every mistake is reported as "FILE:LINE: what".
package conffile

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Setting is one "key = value" line of a file.
type Setting struct {
	Key, Value string
	// Line is the setting's line number, from 1.
	Line int
}

// File is a parsed configuration file.
type File struct {
	// Path names the file in error messages.
	Path     string
	Settings []Setting
}

// Error is a mistake in a file, at a line (0 when it is about the whole
// file).
type Error struct {
	Path string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.Path, e.Line, e.Msg)
}

// maxLine bounds one line of a file.
const maxLine = 64 << 10

// Load reads and parses the file at path.
func Load(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse parses a file's content; path names it in errors.
func Parse(r io.Reader, path string) (*File, error) {
	file := &File{Path: path}
	first := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxLine)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		s, msg := parseLine(text)
		if msg != "" {
			return nil, &Error{Path: path, Line: line, Msg: msg}
		}
		if prev, ok := first[s.Key]; ok {
			return nil, &Error{Path: path, Line: line, Msg: fmt.Sprintf("%s is set again (first on line %d)", s.Key, prev)}
		}
		first[s.Key] = line
		s.Line = line
		file.Settings = append(file.Settings, s)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, &Error{Path: path, Line: line + 1, Msg: fmt.Sprintf("line longer than %d bytes", maxLine)}
		}
		return nil, &Error{Path: path, Msg: err.Error()}
	}
	return file, nil
}

// parseLine parses a trimmed line that is not blank or a comment; it returns
// a message saying what is wrong, or "".
func parseLine(text string) (Setting, string) {
	key, value, ok := strings.Cut(text, "=")
	if !ok {
		return Setting{}, fmt.Sprintf("want key = value, got %q", text)
	}
	key, value = strings.TrimSpace(key), strings.TrimSpace(value)
	if key == "" {
		return Setting{}, "missing key before ="
	}
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return Setting{}, fmt.Sprintf("key %q: use lower-case letters, digits and dashes", key)
		}
	}
	if strings.HasPrefix(value, `"`) {
		v, err := strconv.Unquote(value)
		if err != nil {
			return Setting{}, fmt.Sprintf("%s: bad quoted value %s", key, value)
		}
		value = v
	}
	return Setting{Key: key, Value: value}, ""
}

// Get returns the setting named key.
func (f *File) Get(key string) (Setting, bool) {
	for _, s := range f.Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// Check reports the first setting whose key is not one of known.
func (f *File) Check(known ...string) error {
	for _, s := range f.Settings {
		found := false
		for _, k := range known {
			found = found || s.Key == k
		}
		if !found {
			return &Error{Path: f.Path, Line: s.Line, Msg: fmt.Sprintf("unknown setting %q (known: %s)", s.Key, strings.Join(known, ", "))}
		}
	}
	return nil
}

// ApplyFlags sets the flags of fs from the file's settings, leaving alone
// the flags already set on the command line (flags win over the file). A
// key that names no flag of fs, or skip, is an error, and so is a value the
// flag refuses.
func (f *File) ApplyFlags(fs *flag.FlagSet, skip ...string) error {
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	for _, s := range f.Settings {
		fl := fs.Lookup(s.Key)
		skipped := false
		for _, k := range skip {
			skipped = skipped || k == s.Key
		}
		if fl == nil || skipped {
			return &Error{Path: f.Path, Line: s.Line, Msg: fmt.Sprintf("unknown setting %q", s.Key)}
		}
		if set[s.Key] {
			continue
		}
		if err := fs.Set(s.Key, s.Value); err != nil {
			return &Error{Path: f.Path, Line: s.Line, Msg: fmt.Sprintf("%s = %s: %v", s.Key, s.Value, err)}
		}
	}
	return nil
}
