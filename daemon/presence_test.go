package daemon

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/transport"
)

// TestPresenceIsForNodesOnly: only a session with a node certificate may
// ask a node for its users; users and anonymous peers are refused.
func TestPresenceIsForNodesOnly(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	if resp := rc.call(1, transport.OpPresence, transport.PresenceRequest{}); resp.Error == nil || resp.Error.Code != transport.CodeForbidden {
		t.Fatalf("a user asks for presence: %+v, want forbidden", resp.Error)
	}
	anon, _ := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion})
	if resp := anon.call(1, transport.OpPresence, transport.PresenceRequest{}); resp.Error == nil || resp.Error.Code != transport.CodeUnauthorized {
		t.Fatalf("an anonymous peer without a certificate asks for presence: %+v, want unauthorized", resp.Error)
	}

	// The node itself, with its certificate, may; it sees alice while her
	// session lives, over one connection it keeps.
	self := chatcore.NodeRecord{ID: srv.Node().ID(), ClientAddr: srv.ClientAddr()}
	var typing []transport.Typing
	ask := func() ([]string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := srv.peers.presence(ctx, self)
		typing = resp.Typing
		return resp.Users, err
	}
	users, err := ask()
	if err != nil || !slices.Equal(users, []string{"alice"}) || len(typing) != 0 {
		t.Fatalf("presence with a node certificate: %v %v %v, want [alice], no one typing", users, typing, err)
	}
	// alice types: the node tells its peers, from memory.
	if resp := rc.call(2, transport.OpTyping, transport.TypingRequest{Room: "general"}); resp.Error != nil {
		t.Fatalf("typing: %v", resp.Error)
	}
	if resp := rc.call(3, transport.OpTyping, transport.TypingRequest{Room: "dm.bob.carol"}); resp.Error == nil || resp.Error.Code != transport.CodeForbidden {
		t.Fatalf("typing in another's direct messages: %+v, want forbidden", resp.Error)
	}
	if _, err = ask(); err != nil || !slices.Equal(typing, []transport.Typing{{Room: "general", User: "alice"}}) {
		t.Fatalf("typing seen by a peer: %v %v", typing, err)
	}
	pc, _ := srv.peers.conn(self.ID)
	pc.mu.Lock()
	first := pc.qc
	pc.mu.Unlock()
	rc.conn.CloseWithError(0, "bye")
	chatcoretest.WaitFor(t, 10*time.Second, func() error {
		users, err := ask()
		if err != nil || len(users) != 0 {
			return fmt.Errorf("presence after alice left: %v %v", users, err)
		}
		return nil
	})
	pc.mu.Lock()
	again := pc.qc
	pc.mu.Unlock()
	if again != first {
		t.Fatal("the node-to-node connection was not reused")
	}
	// A peer that says it is another node is not believed.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := srv.peers.presence(ctx, chatcore.NodeRecord{ID: 99, ClientAddr: srv.ClientAddr()}); err == nil {
		t.Fatal("presence from a node answering with the wrong id")
	}
}

// TestTypingExpires: a typing notice lasts TypingTTL and no longer.
func TestTypingExpires(t *testing.T) {
	ty := newLocalTyping()
	now := time.Unix(1000, 0)
	ty.add("general", "alice", now)
	if got := ty.list(now.Add(transport.TypingTTL - time.Millisecond)); len(got) != 1 {
		t.Fatalf("typing before its end: %v", got)
	}
	if got := ty.list(now.Add(transport.TypingTTL)); len(got) != 0 {
		t.Fatalf("typing after its end: %v", got)
	}
}
