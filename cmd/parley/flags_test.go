package main

import (
	"slices"
	"testing"
)

// Flags may come before, between or after the positional arguments, and
// "--" ends them.
func TestFlagsAnywhere(t *testing.T) {
	for _, tc := range []struct {
		args []string
		room string
		json bool
		user string
		pos  []string
	}{
		{[]string{"--room", "r", "hello", "--json"}, "r", true, "", []string{"hello"}},
		{[]string{"hello", "--room", "r", "world"}, "r", false, "", []string{"hello", "world"}},
		{[]string{"--room", "r", "--", "hello", "--json"}, "r", false, "", []string{"hello", "--json"}},
		{[]string{"hello", "--", "--room", "x"}, "", false, "", []string{"hello", "--room", "x"}},
		{[]string{"--json", "--", "-"}, "", true, "", []string{"-"}},
		{[]string{"--user", "--", "hi"}, "", false, "--", []string{"hi"}},
		{[]string{"--user=bob", "--", "--json"}, "", false, "bob", []string{"--json"}},
		{nil, "", false, "", nil},
	} {
		te := newTestEnv(t, nil)
		f := newFlagSet("send", "send")
		room := f.String("room", "", "")
		if err := f.parse(&te.env, tc.args); err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if *room != tc.room || f.common.json != tc.json || f.common.user != tc.user || !slices.Equal(f.Args(), tc.pos) || f.NArg() != len(tc.pos) {
			t.Errorf("%q: room %q json %v user %q args %q", tc.args, *room, f.common.json, f.common.user, f.Args())
		}
	}
}
