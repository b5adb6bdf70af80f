package main

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// colorMode is how much colour the REPL may print.
type colorMode int

// The colour modes, from none to the most.
const (
	colorNone  colorMode = iota // plain text
	colorBasic                  // the 8 ANSI colours
	color256                    // the xterm 256-colour palette
)

// basicPalette holds the ANSI foreground colours readable on both dark and
// light backgrounds: red, green, yellow, blue, magenta, cyan (black and
// white are left out).
var basicPalette = []int{31, 32, 33, 34, 35, 36}

// palette256 holds mid-brightness xterm colours, readable on dark and light
// backgrounds alike and far enough apart to tell names apart.
var palette256 = []int{
	25, 28, 31, 33, 37, 64, 67, 91, 97, 98,
	125, 127, 130, 131, 133, 136, 161, 166, 168, 172,
}

// chooseColor decides the colour mode: none when NO_COLOR is set (to any
// value) or the output is not a terminal, 256 colours when TERM or
// COLORTERM says the terminal has them, the basic 8 otherwise.
func chooseColor(noColorSet, tty bool, term, colorterm string) colorMode {
	if noColorSet || !tty || term == "" || term == "dumb" {
		return colorNone
	}
	if colorterm != "" || strings.Contains(term, "256color") {
		return color256
	}
	return colorBasic
}

// nameColor returns the SGR code choosing name's colour: a stable hash of
// the name indexes the mode's palette, so a user keeps one colour in every
// session. It returns "" in colorNone.
func nameColor(mode colorMode, name string) string {
	h := fnv.New32a()
	h.Write([]byte(name))
	sum := h.Sum32()
	switch mode {
	case colorBasic:
		return strconv.Itoa(basicPalette[sum%uint32(len(basicPalette))])
	case color256:
		return "38;5;" + strconv.Itoa(palette256[sum%uint32(len(palette256))])
	}
	return ""
}

// paint wraps s in the SGR sequence code and a reset; in colorNone, or
// with no code, s is returned as it is.
func paint(mode colorMode, code, s string) string {
	if mode == colorNone || code == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// SGR codes of the REPL's other styles.
const (
	sgrDim   = "2"
	sgrError = "31"
	sgrBold  = "1"
)
