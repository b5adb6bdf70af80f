package daemon_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley/chatcore/chatcoretest"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// A browser's socket is held to the limits of a QUIC connection: the
// connection caps, the hello deadline, and for a session that did not log
// in, the idle deadline and the small frame limit.
func TestWebSocketLimits(t *testing.T) {
	c := daemontest.StartCluster(t, 1, daemontest.Options{Configure: func(_ int, cfg *daemon.Config) {
		cfg.MaxConnsPerAddr = 2
		cfg.HelloTimeout = time.Second
		cfg.AnonIdleTimeout = time.Second
	}})
	h := c.Server(0).HTTPAddr()
	origin := "http://" + h

	// The third socket from one address is refused, and says why.
	a, _, err := dialWS(t, h, origin, nil)
	if err != nil {
		t.Fatalf("first socket: %v", err)
	}
	a.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "pw"})
	b, _, err := dialWS(t, h, origin, nil)
	if err != nil {
		t.Fatalf("second socket: %v", err)
	}
	b.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "pw"})
	if _, resp, err := dialWS(t, h, origin, nil); err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("third socket from one address: %v %v", resp, err)
	}
	// Its place comes back once a socket closes.
	b.ws.Close(websocket.StatusNormalClosure, "")
	// Each socket below waits for the place of the one before it.
	dial := func() *wsConn {
		var d *wsConn
		chatcoretest.WaitFor(t, 30*time.Second, func() (err error) {
			d, _, err = dialWS(t, h, origin, nil)
			return err
		})
		return d
	}

	// A socket that never says hello is closed by the node.
	var ce websocket.CloseError
	silent := dial()
	_, _, err = silent.ws.Read(opCtx(t))
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "no hello") {
		t.Fatalf("a socket without a hello: read %v, want a close that says no hello", err)
	}
	silent.ws.CloseNow()

	// An anonymous session that asks nothing is closed once idle.
	anon := dial()
	anon.hello(transport.Hello{Version: transport.ProtocolVersion})
	_, _, err = anon.ws.Read(opCtx(t))
	if !errors.As(err, &ce) || !strings.Contains(ce.Reason, "idle") {
		t.Fatalf("an idle anonymous session: read %v, want a close that says idle", err)
	}
	anon.ws.CloseNow()

	// An anonymous session may not send a big frame.
	big := dial()
	big.hello(transport.Hello{Version: transport.ProtocolVersion})
	big.writeJSON(map[string]any{"id": 1, "op": "ping", "body": strings.Repeat("x", 64<<10)})
	if _, _, err := big.ws.Read(opCtx(t)); websocket.CloseStatus(err) != websocket.StatusMessageTooBig {
		t.Fatalf("a 64 KiB frame before logging in: read %v, want a close by the node", err)
	}

	// The logged-in socket was never affected.
	if _, e := a.call(transport.OpPing, nil); e != nil {
		t.Fatalf("ping on the logged-in socket: %v", e)
	}
}
