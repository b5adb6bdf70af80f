package discovery

import (
	"errors"
	"strings"
	"testing"
)

var fp = strings.Repeat("ab", 32)

func sample() Record {
	return Record{ClusterID: "8d182b136704c071", CA: fp, NodeID: 3, Name: "pi3", HTTPPort: 7480, Version: "v0.3.0"}
}

func TestTXTRoundTrip(t *testing.T) {
	r := sample()
	got, err := ParseTXT(r.TXT())
	if err != nil || got != r {
		t.Fatalf("ParseTXT(%q) = %+v, %v; want %+v", r.TXT(), got, err, r)
	}
	// Unknown keys and boolean attributes are ignored; keys are case-blind.
	txt := append([]string{"future=1", "flag", "NAME=pi3"}, r.TXT()[:3]...)
	if got, err := ParseTXT(txt); err != nil || got.Name != "pi3" || got.HTTPPort != 0 {
		t.Fatalf("ParseTXT(%q) = %+v, %v", txt, got, err)
	}
}

func TestParseTXTRejects(t *testing.T) {
	ok := sample().TXT()
	for name, txt := range map[string][]string{
		"empty":         nil,
		"no cluster":    ok[1:],
		"no ca":         {ok[0], ok[2], ok[3]},
		"short ca":      {ok[0], "ca=abcd", ok[2], ok[3]},
		"node 0":        {ok[0], ok[1], "node=0", ok[3]},
		"node not int":  {ok[0], ok[1], "node=x", ok[3]},
		"http too big":  append(append([]string{}, ok...)[:4], "http=70000"),
		"repeated name": append(append([]string{}, ok...), "name=other"),
		"control char":  {ok[0], ok[1], ok[2], "name=a\nb"},
		"long value":    {ok[0], ok[1], ok[2], "name=" + strings.Repeat("x", 256)},
		"empty name":    {ok[0], ok[1], ok[2], "name="},
	} {
		if r, err := ParseTXT(txt); !errors.Is(err, ErrBadTXT) {
			t.Errorf("%s: ParseTXT(%q) = %+v, %v; want ErrBadTXT", name, txt, r, err)
		}
	}
}

func FuzzParseTXT(f *testing.F) {
	f.Add(strings.Join(sample().TXT(), "\x00"))
	f.Add("cluster=x\x00ca=" + fp + "\x00node=1\x00name=n\x00http=99999")
	f.Fuzz(func(t *testing.T, s string) {
		txt := strings.Split(s, "\x00")
		r, err := ParseTXT(txt)
		if err != nil {
			if !errors.Is(err, ErrBadTXT) {
				t.Fatalf("error %v does not wrap ErrBadTXT", err)
			}
			return
		}
		// What parses re-encodes to records that parse to the same.
		again, err := ParseTXT(r.TXT())
		if err != nil || again != r {
			t.Fatalf("round trip of %+v: %+v, %v", r, again, err)
		}
	})
}
