package main

import (
	"fmt"
	"testing"
)

func TestChooseColor(t *testing.T) {
	cases := []struct {
		noColor, tty    bool
		term, colorterm string
		want            colorMode
	}{
		{false, true, "xterm-256color", "", color256},
		{false, true, "tmux-256color", "", color256},
		{false, true, "xterm", "truecolor", color256},
		{false, true, "xterm", "", colorBasic},
		{false, true, "screen", "", colorBasic},
		{true, true, "xterm-256color", "truecolor", colorNone},
		{false, false, "xterm-256color", "", colorNone},
		{false, true, "dumb", "", colorNone},
		{false, true, "", "", colorNone},
	}
	for _, c := range cases {
		if got := chooseColor(c.noColor, c.tty, c.term, c.colorterm); got != c.want {
			t.Errorf("chooseColor(%v, %v, %q, %q) = %v, want %v", c.noColor, c.tty, c.term, c.colorterm, got, c.want)
		}
	}
}

func TestNameColorStableAndSpread(t *testing.T) {
	for _, mode := range []colorMode{colorBasic, color256} {
		used := make(map[string]bool)
		for i := range 200 {
			name := fmt.Sprintf("user%d", i)
			c := nameColor(mode, name)
			if c == "" || c != nameColor(mode, name) {
				t.Fatalf("mode %v: colour of %s is %q, then %q", mode, name, c, nameColor(mode, name))
			}
			used[c] = true
		}
		want := len(basicPalette)
		if mode == color256 {
			want = len(palette256)
		}
		if len(used) != want {
			t.Errorf("mode %v: 200 names use %d colours of %d", mode, len(used), want)
		}
	}
	if c := nameColor(colorNone, "alice"); c != "" {
		t.Errorf("no colour mode gives %q", c)
	}
}

func TestPaint(t *testing.T) {
	if got := paint(colorNone, "31", "x"); got != "x" {
		t.Errorf("colorNone: %q", got)
	}
	if got := paint(colorBasic, "", "x"); got != "x" {
		t.Errorf("no code: %q", got)
	}
	if got := paint(color256, "38;5;25", "bob"); got != "\x1b[38;5;25mbob\x1b[0m" {
		t.Errorf("256: %q", got)
	}
}
