package client

import (
	"slices"
	"testing"
)

func TestMergeServers(t *testing.T) {
	got := mergeServers([]string{"a:1", "b:2"}, []string{" c:3 ", "a:1", "", "c:3", "d:4"})
	want := []string{"a:1", "b:2", "c:3", "d:4"}
	if !slices.Equal(got, want) {
		t.Fatalf("mergeServers = %q, want %q", got, want)
	}
}

func TestCheckServer(t *testing.T) {
	for _, a := range []string{"127.0.0.1:7400", "[::1]:7400", "pi4.local:7400"} {
		if err := checkServer(a); err != nil {
			t.Errorf("checkServer(%q) = %v", a, err)
		}
	}
	for _, a := range []string{"127.0.0.1", "localhost", ":7400", "host:", ""} {
		if err := checkServer(a); err == nil {
			t.Errorf("checkServer(%q) accepted", a)
		}
	}
}

func TestAdvertisedAddrs(t *testing.T) {
	got := advertisedAddrs([]string{"10.0.0.2:7400", "0.0.0.0:7400", "[::]:7400", "nonsense", "10.0.0.2:7400", "pi5:7400"})
	want := []string{"10.0.0.2:7400", "pi5:7400"}
	if !slices.Equal(got, want) {
		t.Fatalf("advertisedAddrs = %q, want %q", got, want)
	}
}
