package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestGetFillsEveryField(t *testing.T) {
	i := Get()
	if i.Version == "" || i.Commit == "" {
		t.Fatalf("empty field: %+v", i)
	}
	if i.GoVersion != runtime.Version() {
		t.Fatalf("GoVersion %q, want %q", i.GoVersion, runtime.Version())
	}
	if !strings.Contains(i.String(), i.GoVersion) {
		t.Fatalf("String %q lacks the Go version", i.String())
	}
}

func TestLinkerValuesWin(t *testing.T) {
	defer func(v, c string) { version, commit = v, c }(version, commit)
	version, commit = "v9.9.9", "abc123"
	i := Get()
	if i.Version != "v9.9.9" || i.Commit != "abc123" {
		t.Fatalf("got %+v", i)
	}
}

func TestVCSCommit(t *testing.T) {
	for _, tc := range []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, ""},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "deadbeef"}}, "deadbeef"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "deadbeef"}, {Key: "vcs.modified", Value: "true"}}, "deadbeef-dirty"},
		{[]debug.BuildSetting{{Key: "vcs.modified", Value: "true"}}, ""},
	} {
		if got := vcsCommit(tc.settings); got != tc.want {
			t.Errorf("vcsCommit(%v) = %q, want %q", tc.settings, got, tc.want)
		}
	}
}
