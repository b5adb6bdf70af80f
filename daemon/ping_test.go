package daemon

import (
	"strings"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// TestPing: a ping is answered at once with an empty body, whatever the
// session is doing; a malformed one is refused and the session goes on.
func TestPing(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	pong := func(t *testing.T, what string, resp transport.Response, id uint64) {
		t.Helper()
		if resp.ID != id || resp.Error != nil || len(resp.Body) != 0 {
			t.Fatalf("%s: want an empty answer to request %d, got id %d %+v body %x", what, id, resp.ID, resp.Error, resp.Body)
		}
	}
	pong(t, "ping", rc.call(1, transport.OpPing, transport.PingRequest{}), 1)
	// No body at all, and a null one, are fine too.
	rc.write(transport.Request{ID: 2, Op: transport.OpPing})
	pong(t, "ping without a body", rc.read(), 2)
	pong(t, "ping with a null body", rc.call(3, transport.OpPing, nil), 3)

	for i, body := range []any{"not a ping", 42, []int{1}} {
		id := uint64(10 + i)
		resp := rc.call(id, transport.OpPing, body)
		if resp.ID != id || resp.Error == nil || resp.Error.Code != transport.CodeInvalid ||
			!strings.Contains(resp.Error.Message, "ping") {
			t.Errorf("ping with body %v: want invalid naming ping, got id %d %+v", body, resp.ID, resp.Error)
		}
	}
	pong(t, "ping after malformed ones", rc.call(20, transport.OpPing, transport.PingRequest{}), 20)
}

// TestPingIsNotRateLimited: pings take nothing from the connection's rate
// limit, and a connection refused as rate_limited still gets its pings
// answered, so a client that is being held back is never taken for one
// whose node died.
func TestPingIsNotRateLimited(t *testing.T) {
	const rate = 5 // bursts of 10
	srv := startServer(t, func(c *Config) { c.RequestsPerSecond = rate })
	rc, _ := dialRaw(t, srv, alice)
	empty, err := parley.Marshal(transport.PingRequest{})
	if err != nil {
		t.Fatal(err)
	}
	// Far more pings than the burst: every one is answered.
	const pings = 8 * rate
	for i := 1; i <= pings; i++ {
		rc.write(transport.Request{ID: uint64(i), Op: transport.OpPing, Body: empty})
	}
	for range pings {
		if resp := rc.read(); resp.Error != nil {
			t.Fatalf("ping %d: %+v", resp.ID, resp.Error)
		}
	}
	// They took no token: a whole burst of requests goes through.
	for i := 1; i <= 2*rate; i++ {
		rc.write(transport.Request{ID: uint64(100 + i), Op: "unknown", Body: empty})
	}
	for range 2 * rate {
		if resp := rc.read(); resp.Error == nil || resp.Error.Code != transport.CodeInvalid {
			t.Fatalf("request %d after the pings: %+v, want invalid (unknown operation), not rate limited", resp.ID, resp.Error)
		}
	}
	// Rate limited now, the connection still gets its pings answered.
	const more = 8 * rate
	for i := 1; i <= more; i++ {
		rc.write(transport.Request{ID: uint64(200 + i), Op: "unknown", Body: empty})
	}
	rc.write(transport.Request{ID: 999, Op: transport.OpPing, Body: empty})
	limited, ponged := 0, false
	for range more + 1 {
		resp := rc.read()
		switch {
		case resp.ID == 999:
			if resp.Error != nil {
				t.Fatalf("ping while rate limited: %+v", resp.Error)
			}
			ponged = true
		case resp.Error != nil && resp.Error.Code == transport.CodeRateLimited:
			limited++
		}
	}
	if limited == 0 || !ponged {
		t.Fatalf("%d of %d requests rate limited, ping answered: %v; want some limited and the ping answered", limited, more, ponged)
	}
}

// TestPingBeforeLogin: an anonymous session (a node joining) may ping; a
// ping sent in place of the hello is refused as a bad hello, and claims no
// account.
func TestPingBeforeLogin(t *testing.T) {
	srv := startServer(t)
	rc, w := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion})
	if w.Error != nil {
		t.Fatalf("anonymous welcome: %+v", w.Error)
	}
	if resp := rc.call(1, transport.OpPing, transport.PingRequest{}); resp.ID != 1 || resp.Error != nil {
		t.Fatalf("anonymous ping: id %d %+v", resp.ID, resp.Error)
	}

	empty, err := parley.Marshal(transport.PingRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for _, first := range []transport.Request{
		{ID: 1, Op: transport.OpPing},              // reads as a hello from user "ping", version 1
		{ID: 7, Op: transport.OpPing},              // the same at version 7
		{ID: 1, Op: transport.OpPing, Body: empty}, // not a hello at all
	} {
		rc, w := dialRawFirst(t, srv, first)
		if w.Error == nil || w.Error.Code != transport.CodeInvalid {
			t.Fatalf("%+v in place of the hello: welcome %+v, want invalid", first, w)
		}
		t.Logf("%+v in place of the hello: %v", first, w.Error)
		if w.Token != "" {
			t.Fatalf("%+v in place of the hello got a session token", first)
		}
		rc.waitClosed()
	}
	// The name "ping" is still free: its first login claims it.
	if _, w := dialRaw(t, srv, transport.Hello{Version: transport.ProtocolVersion, User: "ping", Password: "pw"}); w.Error != nil {
		t.Fatalf("first login as ping: %+v", w.Error)
	}
}
