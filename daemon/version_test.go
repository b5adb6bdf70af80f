package daemon

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/pki"
	"github.com/parleychat/parley/transport"
)

// A joining node with the right token but other apply rules is refused,
// with both versions in the message, and nothing changes.
func TestAdmitRefusesOtherApplyRules(t *testing.T) {
	srv := startServer(t)
	token, err := os.ReadFile(JoinTokenFile(srv.cfg.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(token))
	fp, err := pki.TokenFingerprint(tok)
	if err != nil {
		t.Fatal(err)
	}
	_, pub, _ := pki.NewKey()
	other := chatcore.ApplyRulesVersion + 1
	req := transport.AdmitRequest{Token: tok, Name: "n9", RaftAddr: "127.0.0.1:1", ClientAddr: "127.0.0.1:2", PublicKey: pub, ApplyVersion: other}
	var resp transport.AdmitResponse
	err = callAnonymous(context.Background(), srv.ClientAddr(), transport.FingerprintTLSConfig(fp), transport.OpAdmit, req, &resp)
	want := fmt.Sprintf("this node applies version %d, the joining node version %d", chatcore.ApplyRulesVersion, other)
	if transport.CodeOf(err) != transport.CodeInvalid || !strings.Contains(err.Error(), want) {
		t.Fatalf("want invalid with %q, got %v", want, err)
	}
	if nodes, _ := srv.Node().Nodes(); len(nodes) != 1 {
		t.Fatalf("nodes after a refused join: %v", nodes)
	}
}

// A node of the cluster (it holds a node certificate) whose hello carries
// other apply rules is refused; with the same rules it is welcomed, and
// the welcome carries the server's version for the dialer to check.
func TestPeerHelloChecksApplyRules(t *testing.T) {
	srv := startServer(t)
	m := srv.nodeTLS
	conf, err := transport.NodeClientTLSConfig(m.cert, m.key, m.ca)
	if err != nil {
		t.Fatal(err)
	}
	hello := func(v int) transport.Welcome {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := transport.Dial(ctx, srv.ClientAddr(), conf)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseWithError(0, "")
		stream, err := conn.OpenStreamSync(ctx)
		if err != nil {
			t.Fatal(err)
		}
		stream.SetDeadline(time.Now().Add(10 * time.Second))
		if err := transport.WriteFrame(stream, transport.Hello{Version: transport.ProtocolVersion, ApplyVersion: v}, transport.DefaultMaxFrame); err != nil {
			t.Fatal(err)
		}
		var w transport.Welcome
		if err := transport.NewFrameReader(stream, transport.DefaultMaxFrame).Read(&w); err != nil {
			t.Fatal(err)
		}
		return w
	}
	w := hello(chatcore.ApplyRulesVersion + 7)
	want := fmt.Sprintf("this node applies version %d, the peer version %d", chatcore.ApplyRulesVersion, chatcore.ApplyRulesVersion+7)
	if w.Error == nil || !strings.Contains(w.Error.Message, want) {
		t.Fatalf("other rules: want %q, got %+v", want, w.Error)
	}
	if w := hello(0); w.Error == nil || !strings.Contains(w.Error.Message, "before apply versions") {
		t.Fatalf("no version: want a refusal, got %+v", w.Error)
	}
	if w := hello(chatcore.ApplyRulesVersion); w.Error != nil || w.ApplyVersion != chatcore.ApplyRulesVersion {
		t.Fatalf("same rules: got error %v, version %d", w.Error, w.ApplyVersion)
	}
}

// A node that joins with the name of another node is told to use --name,
// and nothing changes.
func TestJoinWithATakenNameSaysUseName(t *testing.T) {
	srv := startServer(t)
	token, err := os.ReadFile(JoinTokenFile(srv.cfg.DataDir))
	if err != nil {
		t.Fatal(err)
	}
	tok := strings.TrimSpace(string(token))
	fp, _ := pki.TokenFingerprint(tok)
	_, pub, _ := pki.NewKey()
	req := transport.AdmitRequest{Token: tok, Name: "n1", RaftAddr: "127.0.0.1:1", ClientAddr: "127.0.0.1:2", PublicKey: pub, ApplyVersion: chatcore.ApplyRulesVersion}
	var resp transport.AdmitResponse
	err = callAnonymous(context.Background(), srv.ClientAddr(), transport.FingerprintTLSConfig(fp), transport.OpAdmit, req, &resp)
	if transport.CodeOf(err) != transport.CodeInvalid || !strings.Contains(err.Error(), `already named "n1": give this node another name with --name`) {
		t.Fatalf("got %v", err)
	}
	if nodes, _ := srv.Node().Nodes(); len(nodes) != 1 {
		t.Fatalf("nodes after a refused join: %v", nodes)
	}
}
