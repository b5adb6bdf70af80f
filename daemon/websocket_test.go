package daemon_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// The tests in this file drive the browser's WebSocket protocol with a Go
// WebSocket client against an in-process cluster.

// webLogin posts a login to node's HTTP address and returns the session
// cookie and the token in the body.
func webLogin(t *testing.T, httpAddr, user string) (*http.Cookie, string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"user": user, "password": "pw-" + user})
	req, _ := http.NewRequestWithContext(opCtx(t), http.MethodPost, "http://"+httpAddr+"/api/login", bytes.NewReader(body))
	req.Header.Set("Origin", "http://"+httpAddr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %s", resp.Status)
	}
	var out struct{ User, Token string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Token == "" || out.User != user {
		t.Fatalf("login answer %+v, %v", out, err)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "parley_session" {
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("cookie %+v is not HttpOnly and SameSite=Strict", c)
			}
			return c, out.Token
		}
	}
	t.Fatal("login set no session cookie")
	return nil, ""
}

// wsConn is a test's WebSocket session.
type wsConn struct {
	t    *testing.T
	ws   *websocket.Conn
	next uint64
	// queued holds the frames call read past.
	queued []transport.WebServerFrame
}

func dialWS(t *testing.T, httpAddr, origin string, cookie *http.Cookie) (*wsConn, *http.Response, error) {
	h := http.Header{"Origin": {origin}}
	if cookie != nil {
		h.Set("Cookie", cookie.Name+"="+cookie.Value)
	}
	ws, resp, err := websocket.Dial(opCtx(t), "ws://"+httpAddr+"/ws", &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		return nil, resp, err
	}
	t.Cleanup(func() { ws.CloseNow() })
	return &wsConn{t: t, ws: ws}, resp, nil
}

func (c *wsConn) writeJSON(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.ws.Write(opCtx(c.t), websocket.MessageText, b); err != nil {
		c.t.Fatalf("ws write: %v", err)
	}
}

func (c *wsConn) read() transport.WebServerFrame {
	c.t.Helper()
	if len(c.queued) > 0 {
		f := c.queued[0]
		c.queued = c.queued[1:]
		return f
	}
	_, b, err := c.ws.Read(opCtx(c.t))
	if err != nil {
		c.t.Fatalf("ws read: %v", err)
	}
	var f transport.WebServerFrame
	if err := json.Unmarshal(b, &f); err != nil {
		c.t.Fatalf("ws frame %s: %v", b, err)
	}
	return f
}

func (c *wsConn) hello(h transport.Hello) transport.Welcome {
	c.t.Helper()
	c.writeJSON(map[string]any{"hello": h})
	f := c.read()
	if f.Welcome == nil {
		c.t.Fatalf("want a welcome, got %+v", f)
	}
	return *f.Welcome
}

// call sends a request and returns its response's body, skipping events.
func (c *wsConn) call(op string, body any) (json.RawMessage, *transport.Error) {
	c.t.Helper()
	c.next++
	id := c.next
	c.writeJSON(map[string]any{"id": id, "op": op, "body": body})
	for {
		_, b, err := c.ws.Read(opCtx(c.t))
		if err != nil {
			c.t.Fatalf("ws read: %v", err)
		}
		var f struct {
			Resp *struct {
				ID    uint64
				Error *transport.Error
				Body  json.RawMessage
			}
		}
		json.Unmarshal(b, &f)
		if f.Resp != nil && f.Resp.ID == id {
			return f.Resp.Body, f.Resp.Error
		}
		var other transport.WebServerFrame
		json.Unmarshal(b, &other)
		c.queued = append(c.queued, other)
	}
}

func TestWebSocketSession(t *testing.T) {
	c := daemontest.StartCluster(t, 2)
	h1, h2 := c.Server(0).HTTPAddr(), c.Server(1).HTTPAddr()
	cookie, token := webLogin(t, h1, "alice")

	// Same origin, the cookie stands for the credentials.
	a, _, err := dialWS(t, h1, "http://"+h1, cookie)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	w := a.hello(transport.Hello{Version: transport.ProtocolVersion})
	if w.Error != nil || w.User != "alice" || w.Token == "" {
		t.Fatalf("welcome %+v", w)
	}
	https := map[string]bool{}
	for _, n := range w.Nodes {
		https[n.HTTP] = true
	}
	if !https[h1] || !https[h2] {
		t.Fatalf("welcome's nodes %+v lack the HTTP addresses %s and %s", w.Nodes, h1, h2)
	}
	if _, e := a.call(transport.OpJoin, transport.JoinRoomRequest{Room: "web"}); e != nil {
		t.Fatalf("join: %v", e)
	}
	if _, e := a.call(transport.OpSubscribe, transport.SubscribeRequest{Room: "web", From: 1, Sub: 7}); e != nil {
		t.Fatalf("subscribe: %v", e)
	}
	id := parley.NewMsgID(time.Now())
	raw, e := a.call(transport.OpSend, transport.SendRequest{Room: "web", ID: id, Text: "<b>hi</b>"})
	if e != nil {
		t.Fatalf("send: %v", e)
	}
	var sr transport.SendResponse
	json.Unmarshal(raw, &sr)

	// Another user over QUIC: the browser sees both messages in order.
	bob := dialAs(t, "bob", c.Addr(1))
	if _, err := bob.Send(opCtx(t), "web", "from quic"); err != nil {
		t.Fatalf("bob send: %v", err)
	}
	var got []parley.Message
	for len(got) < 3 {
		f := a.read()
		if f.Sub == 0 {
			continue
		}
		if f.Sub != 7 {
			t.Fatalf("event of subscription %d", f.Sub)
		}
		for _, ev := range f.Events {
			if ev.Msg == nil {
				t.Fatalf("event %+v", ev)
			}
			got = append(got, *ev.Msg)
		}
	}
	if got[0].Kind != parley.KindJoin || got[1].ID != id || got[1].Text != "<b>hi</b>" || got[1].Seq != sr.Seq ||
		got[2].User != "bob" || got[2].Seq != got[1].Seq+1 {
		t.Fatalf("events %+v", got)
	}
	// A retried send with the same id is the same message.
	raw, e = a.call(transport.OpSend, transport.SendRequest{Room: "web", ID: id, Text: "<b>hi</b>"})
	var again transport.SendResponse
	json.Unmarshal(raw, &again)
	if e != nil || !again.Duplicate || again.Seq != sr.Seq {
		t.Fatalf("resend: %+v %v", again, e)
	}

	// Another node accepts the page's origin and the token from memory.
	b, _, err := dialWS(t, h2, "http://"+h1, nil)
	if err != nil {
		t.Fatalf("dial the other node: %v", err)
	}
	if w := b.hello(transport.Hello{Version: transport.ProtocolVersion, User: "alice", Token: token}); w.Error != nil || w.User != "alice" {
		t.Fatalf("welcome on the other node %+v", w)
	}
	raw, e = b.call(transport.OpHistory, transport.HistoryRequest{Room: "web", From: 1})
	var hr transport.HistoryResponse
	json.Unmarshal(raw, &hr)
	if e != nil || len(hr.Messages) != 3 {
		t.Fatalf("history from the other node: %+v %v", hr, e)
	}
}

func TestWebSocketRefusals(t *testing.T) {
	c := daemontest.StartCluster(t, 1)
	h1 := c.Server(0).HTTPAddr()

	if _, resp, err := dialWS(t, h1, "http://evil.example", nil); err == nil || resp == nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("foreign origin: %v %v", resp, err)
	}

	// No credentials and no cookie: an anonymous session, which may not
	// read rooms.
	a, _, err := dialWS(t, h1, "http://"+h1, nil)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if w := a.hello(transport.Hello{Version: transport.ProtocolVersion}); w.Error != nil || w.Token != "" || w.User != "" {
		t.Fatalf("anonymous welcome %+v", w)
	}
	if _, e := a.call(transport.OpRooms, nil); e == nil || e.Code != transport.CodeUnauthorized {
		t.Fatalf("anonymous rooms: %v", e)
	}

	// A wrong password is refused in the welcome.
	b, _, _ := dialWS(t, h1, "http://"+h1, nil)
	b.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "one"})
	bb, _, _ := dialWS(t, h1, "http://"+h1, nil)
	if w := bb.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "two"}); w.Error == nil || w.Error.Code != transport.CodeUnauthorized {
		t.Fatalf("wrong password: %+v", w)
	}

	// Bad input after the welcome: an invalid answer, then the close.
	for _, bad := range []string{`{"id":1}`, `not json`, `{"id":1,"op":"send","body":{"Nope":1}}`, `{"hello":{"Version":1}}`} {
		d, _, _ := dialWS(t, h1, "http://"+h1, nil)
		d.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "one"})
		d.ws.Write(opCtx(t), websocket.MessageText, []byte(bad))
		_, msg, err := d.ws.Read(opCtx(t))
		if err != nil || !strings.Contains(string(msg), `"invalid"`) {
			t.Errorf("%s: answer %s, %v", bad, msg, err)
		}
	}
	// A body that does not decode is answered and the session goes on.
	e, _, _ := dialWS(t, h1, "http://"+h1, nil)
	e.hello(transport.Hello{Version: transport.ProtocolVersion, User: "carol", Password: "one"})
	if _, er := e.call(transport.OpSend, map[string]any{"Room": 5}); er == nil || er.Code != transport.CodeInvalid {
		t.Fatalf("bad body: %v", er)
	}
	if _, er := e.call(transport.OpPing, nil); er != nil {
		t.Fatalf("ping after a bad body: %v", er)
	}
}

func TestWebHTTPS(t *testing.T) {
	c := daemontest.StartCluster(t, 1, daemontest.Options{Configure: func(i int, cfg *daemon.Config) {
		cfg.HTTPS = "127.0.0.1:0"
	}})
	addr := c.Server(0).HTTPSAddr()
	caPEM, err := os.ReadFile(c.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequestWithContext(opCtx(t), http.MethodGet, "https://"+addr+"/", nil)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("GET over https with the cluster CA: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/js/app.js") ||
		!strings.Contains(resp.Header.Get("Content-Security-Policy"), "script-src 'self'") {
		t.Fatalf("GET /: %s %q %q", resp.Status, resp.Header.Get("Content-Security-Policy"), body)
	}
	ws, _, err := websocket.Dial(opCtx(t), "wss://"+addr+"/ws", &websocket.DialOptions{HTTPClient: hc, HTTPHeader: http.Header{"Origin": {"https://" + addr}}})
	if err != nil {
		t.Fatalf("wss: %v", err)
	}
	defer ws.CloseNow()
	wc := &wsConn{t: t, ws: ws}
	w := wc.hello(transport.Hello{Version: transport.ProtocolVersion, User: "dora", Password: "pw"})
	if w.Error != nil || len(w.Nodes) != 1 || w.Nodes[0].HTTPS == "" {
		t.Fatalf("welcome over wss: %+v", w)
	}
}
