package chatcore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/pki"
)

// TestStartCreatesThenReopens starts a node in an empty dir, which creates
// a cluster and its join token, and starts it again from the same dir,
// which reopens the same node with its messages.
func TestStartCreatesThenReopens(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "node")
	cfg := chatcore.Config{DataDir: dir, Name: "solo", RaftAddr: chatcoretest.FreeAddr(t), Profile: chatcore.ProfileSmall, Shards: 2}
	if _, err := chatcore.Open(ctx, cfg); !errors.Is(err, parley.ErrNotFound) {
		t.Fatalf("open of an empty dir: %v, want ErrNotFound", err)
	}
	n, err := chatcore.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	first := send(t, n, "general", "alice", "before the restart")
	id, cluster := n.ID(), n.ClusterID()

	tokenFile := chatcore.DataLayout(dir).JoinToken()
	st, err := os.Stat(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("join token file mode %v, want 0600", st.Mode().Perm())
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(string(b))
	if err := n.CheckJoinToken(ctx, token); err != nil {
		t.Fatalf("the written token is not the cluster's: %v", err)
	}
	if err := n.CheckJoinToken(ctx, token+"x"); !errors.Is(err, parley.ErrUnauthorized) {
		t.Fatalf("a wrong token: %v, want ErrUnauthorized", err)
	}
	info, err := n.ClusterInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Shards != 2 || len(info.Secret) != 32 {
		t.Fatalf("cluster info: %d shards, %d-byte secret; want 2 and 32", info.Shards, len(info.Secret))
	}
	ca, err := pki.ParseCertPEM(info.CACertPEM)
	if err != nil {
		t.Fatal(err)
	}
	if fp, _ := pki.TokenFingerprint(token); !strings.HasPrefix(pki.Fingerprint(ca.Raw), fp) {
		t.Fatalf("token names CA %s, cluster CA is %s", fp, pki.Fingerprint(ca.Raw))
	}
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}

	n, err = chatcore.Start(ctx, cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer n.Close()
	if n.ID() != id || n.ClusterID() != cluster {
		t.Fatalf("restart made node %d of %s, was node %d of %s", n.ID(), n.ClusterID(), id, cluster)
	}
	if b2, err := os.ReadFile(tokenFile); err != nil || string(b2) != string(b) {
		t.Fatalf("restart changed the join token file: %v", err)
	}
	msgs := history(t, n, "general")
	if len(msgs) != 1 || msgs[0].Seq != first.Seq || msgs[0].Text != "before the restart" {
		t.Fatalf("history after restart: %v", msgs)
	}
}

// TestStartRefusesBadConfig checks that a config Start cannot use gets
// ErrInvalid and leaves nothing behind.
func TestStartRefusesBadConfig(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := t.TempDir()
	for name, cfg := range map[string]chatcore.Config{
		"too many shards": {DataDir: filepath.Join(base, "a"), RaftAddr: chatcoretest.FreeAddr(t), Shards: 5000},
		"no raft address": {DataDir: filepath.Join(base, "b")},
		"bad node name":   {DataDir: filepath.Join(base, "c"), RaftAddr: chatcoretest.FreeAddr(t), Name: "Bad Name!"},
	} {
		if n, err := chatcore.Start(ctx, cfg); !errors.Is(err, parley.ErrInvalid) {
			if n != nil {
				n.Close()
			}
			t.Fatalf("%s: %v, want ErrInvalid", name, err)
		}
		if _, err := os.Stat(cfg.DataDir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s: refused start left %s behind (%v)", name, cfg.DataDir, err)
		}
	}
}

// TestJoinAndAdmit checks admission on a real cluster: bad requests are
// refused with ErrInvalid and add no node, and Join of a dir that already
// holds a node reopens it without asking to be admitted again.
func TestJoinAndAdmit(t *testing.T) {
	c := chatcoretest.StartCluster(t, 2, chatcoretest.Options{Shards: 1})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, pub, err := pki.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	for name, req := range map[string]chatcore.AdmitRequest{
		"bad raft address":   {Name: "n9", RaftAddr: "nowhere", ClientAddr: "127.0.0.1:2", PublicKey: pub},
		"bad client address": {Name: "n9", RaftAddr: "127.0.0.1:1", ClientAddr: "", PublicKey: pub},
		"bad public key":     {Name: "n9", RaftAddr: "127.0.0.1:1", ClientAddr: "127.0.0.1:2", PublicKey: []byte("not a key")},
		"bad node name":      {Name: "N 9", RaftAddr: "127.0.0.1:1", ClientAddr: "127.0.0.1:2", PublicKey: pub},
	} {
		if _, err := c.Nodes[0].Admit(ctx, req); !errors.Is(err, parley.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	nodes, err := c.Nodes[0].Nodes()
	if err != nil || len(nodes) != 2 {
		t.Fatalf("after refused admissions the registry has %d nodes (%v), want 2", len(nodes), err)
	}

	id := c.Nodes[1].ID()
	c.Stop(1)
	n, err := chatcore.Join(ctx, c.Cfgs[1], c.Nodes[0])
	if err != nil {
		t.Fatal(err)
	}
	c.Nodes[1] = n
	if n.ID() != id {
		t.Fatalf("join of a dir holding node %d made node %d", id, n.ID())
	}
	c.WaitFormed(60 * time.Second)
	if nodes, err := c.Nodes[0].Nodes(); err != nil || len(nodes) != 2 {
		t.Fatalf("rejoining added a node: %d nodes (%v), want 2", len(nodes), err)
	}
}
