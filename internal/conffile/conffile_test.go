package conffile

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	f, err := Parse(strings.NewReader(`
# a node on the LAN
data = /var/lib/parley
  name=pi-1   
advertise = "192.168.1.10"
quoted = " spaced # not a comment "
`), "parleyd.conf")
	if err != nil {
		t.Fatal(err)
	}
	want := []Setting{{"data", "/var/lib/parley", 3}, {"name", "pi-1", 4}, {"advertise", "192.168.1.10", 5}, {"quoted", " spaced # not a comment ", 6}}
	if len(f.Settings) != len(want) {
		t.Fatalf("got %+v", f.Settings)
	}
	for i, s := range f.Settings {
		if s != want[i] {
			t.Errorf("setting %d: got %+v, want %+v", i, s, want[i])
		}
	}
}

func TestParseErrorsNameTheLine(t *testing.T) {
	for _, tc := range []struct{ text, want string }{
		{"a = 1\nno equals sign", `f:2: want key = value, got "no equals sign"`},
		{"= 1", "f:1: missing key before ="},
		{"\n\nData = x", `f:3: key "Data": use lower-case letters, digits and dashes`},
		{"a = 1\n# c\na = 2", "f:3: a is set again (first on line 1)"},
		{`a = "unterminated`, `f:1: a: bad quoted value "unterminated`},
		{"a = " + strings.Repeat("x", maxLine), "f:1: line longer than"},
	} {
		_, err := Parse(strings.NewReader(tc.text), "f")
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestApplyFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	name := fs.String("name", "default", "")
	listen := fs.String("listen", ":7400", "")
	timeout := fs.Duration("timeout", time.Second, "")
	other := fs.String("other", "untouched", "")
	if err := fs.Parse([]string{"--name", "from-flag"}); err != nil {
		t.Fatal(err)
	}
	f, err := Parse(strings.NewReader("name = from-file\nlisten = :9000\ntimeout = 3s\n"), "c")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.ApplyFlags(fs); err != nil {
		t.Fatal(err)
	}
	if *name != "from-flag" || *listen != ":9000" || *timeout != 3*time.Second || *other != "untouched" {
		t.Fatalf("flags > file > defaults broken: name %q listen %q timeout %v other %q", *name, *listen, *timeout, *other)
	}

	bad, _ := Parse(strings.NewReader("listen = :1\n\ntimeout = soon\n"), "c")
	if err := bad.ApplyFlags(flag.NewFlagSet("t", flag.ContinueOnError)); err == nil || !strings.HasPrefix(err.Error(), `c:1: unknown setting "listen"`) {
		t.Errorf("unknown key: %v", err)
	}
	fs2 := flag.NewFlagSet("t", flag.ContinueOnError)
	fs2.String("listen", "", "")
	fs2.Duration("timeout", 0, "")
	if err := bad.ApplyFlags(fs2); err == nil || !strings.HasPrefix(err.Error(), "c:3: timeout = soon: ") {
		t.Errorf("bad value: %v", err)
	}
	if err := bad.ApplyFlags(fs2, "listen"); err == nil || !strings.HasPrefix(err.Error(), `c:1: unknown setting "listen"`) {
		t.Errorf("skipped key: %v", err)
	}
}

func TestCheck(t *testing.T) {
	f, _ := Parse(strings.NewReader("server = a\n\ncolour = never\n"), "config")
	if err := f.Check("server", "user", "color"); err == nil || !strings.HasPrefix(err.Error(), `config:3: unknown setting "colour"`) {
		t.Fatalf("got %v", err)
	}
	if err := f.Check("server", "colour"); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse: whatever the bytes, Parse returns a file or an error naming a
// line, and every setting it returns has a valid key.
func FuzzParse(f *testing.F) {
	f.Add("a = 1\n# c\nb = \"x\\ty\"\n")
	f.Add("=\n")
	f.Fuzz(func(t *testing.T, text string) {
		file, err := Parse(strings.NewReader(text), "f")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without the file name: %v", err)
			}
			return
		}
		for _, s := range file.Settings {
			if _, msg := parseLine(s.Key + " = x"); msg != "" || s.Line < 1 {
				t.Fatalf("bad setting %+v", s)
			}
		}
	})
}
