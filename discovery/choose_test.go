package discovery

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func node(ca, name, addr string) Node {
	return Node{Record: Record{ClusterID: "c-" + ca[:2], CA: ca, NodeID: 1, Name: name}, Addr: addr}
}

func TestChoose(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	seen := []Node{node(a, "a2", "10.0.0.2:7400"), node(b, "b1", "10.0.1.1:7400"), node(a, "a1", "10.0.0.1:7400")}
	none := func(string) bool { return false }

	if _, _, err := Choose(nil, none); !errors.Is(err, ErrNoCluster) {
		t.Errorf("no nodes: %v, want ErrNoCluster", err)
	}
	ca, addrs, err := Choose(seen[:1], none)
	if err != nil || ca != a || !slices.Equal(addrs, []string{"10.0.0.2:7400"}) {
		t.Errorf("only cluster: %s %v %v", ca, addrs, err)
	}
	ca, addrs, err = Choose(seen, func(fp string) bool { return fp == a })
	if err != nil || ca != a || !slices.Equal(addrs, []string{"10.0.0.1:7400", "10.0.0.2:7400"}) {
		t.Errorf("pinned cluster: %s %v %v", ca, addrs, err)
	}
	_, _, err = Choose(seen, none)
	if !errors.Is(err, ErrSeveralClusters) || !strings.Contains(err.Error(), "--server") ||
		!strings.Contains(err.Error(), "a1=10.0.0.1:7400") || !strings.Contains(err.Error(), "b1=10.0.1.1:7400") {
		t.Errorf("two unknown clusters: %v, want ErrSeveralClusters listing both", err)
	}
}

func TestRememberNodes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley", KnownNodesFile)
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	if known, err := LoadKnownNodes(path); err != nil || len(known) != 0 {
		t.Fatalf("missing file: %v %v", known, err)
	}
	if err := RememberNodes(path, a, []string{"10.0.0.2:7400", "10.0.0.1:7400"}); err != nil {
		t.Fatal(err)
	}
	if err := RememberNodes(path, b, []string{"10.0.1.1:7400", "bad addr"}); err != nil {
		t.Fatal(err)
	}
	if err := RememberNodes(path, a, []string{"10.0.0.3:7400"}); err != nil {
		t.Fatal(err)
	}
	known, err := LoadKnownNodes(path)
	if err != nil || !slices.Equal(known[a], []string{"10.0.0.3:7400"}) || !slices.Equal(known[b], []string{"10.0.1.1:7400"}) {
		t.Fatalf("known nodes %v, %v", known, err)
	}
}

func TestLoadKnownNodesNamesBadLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), KnownNodesFile)
	if err := RememberNodes(path, strings.Repeat("a", 64), []string{"h:1"}); err != nil {
		t.Fatal(err)
	}
	if err := writeFile(path, "# ok\nnot-a-fingerprint h:1\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKnownNodes(path); err == nil || !strings.Contains(err.Error(), KnownNodesFile+":2") {
		t.Fatalf("bad line: %v, want an error naming line 2", err)
	}
}

func writeFile(path, s string) error { return os.WriteFile(path, []byte(s), 0o600) }
