package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/coder/websocket"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// webSubscriber is a subscriber on a node's WebSocket, speaking the
// browser's protocol (transport.WebClientFrame) as the web client does, so
// the latency scenario can time the browser's path next to QUIC's.
type webSubscriber struct {
	ws *websocket.Conn
}

// dialWeb logs in as user on the WebSocket of the node at httpAddr.
func dialWeb(ctx context.Context, httpAddr, user, password string) (*webSubscriber, error) {
	ws, _, err := websocket.Dial(ctx, "ws://"+httpAddr+"/ws", &websocket.DialOptions{
		HTTPHeader: http.Header{"Origin": {"http://" + httpAddr}},
	})
	if err != nil {
		return nil, fmt.Errorf("web subscriber: %w", err)
	}
	ws.SetReadLimit(int64(transport.DefaultMaxFrame))
	w := &webSubscriber{ws: ws}
	hello := transport.Hello{Version: transport.ProtocolVersion, User: user, Password: password}
	if err := w.write(ctx, map[string]any{"hello": hello}); err != nil {
		ws.CloseNow()
		return nil, err
	}
	f, err := w.read(ctx)
	if err == nil && (f.Welcome == nil || f.Welcome.Error != nil) {
		err = fmt.Errorf("web subscriber: no welcome: %+v", f)
	}
	if err != nil {
		ws.CloseNow()
		return nil, err
	}
	return w, nil
}

func (w *webSubscriber) write(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("web subscriber: %w", err)
	}
	if err := w.ws.Write(ctx, websocket.MessageText, b); err != nil {
		return fmt.Errorf("web subscriber: %w", err)
	}
	return nil
}

func (w *webSubscriber) read(ctx context.Context) (transport.WebServerFrame, error) {
	var f transport.WebServerFrame
	_, b, err := w.ws.Read(ctx)
	if err != nil {
		return f, fmt.Errorf("web subscriber: %w", err)
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return f, fmt.Errorf("web subscriber: %w", err)
	}
	return f, nil
}

// subscribe subscribes to rooms from now, subscription i+1 to rooms[i],
// and then calls onMsg for every message until ctx ends or the socket
// fails. A refused subscription is an error.
func (w *webSubscriber) subscribe(ctx context.Context, rooms []string, onMsg func(parley.Message)) error {
	for i, room := range rooms {
		req := map[string]any{"id": i + 1, "op": transport.OpSubscribe, "body": transport.SubscribeRequest{Room: room, Sub: uint64(i + 1)}}
		if err := w.write(ctx, req); err != nil {
			return err
		}
	}
	for {
		f, err := w.read(ctx)
		if err != nil {
			return err
		}
		if f.Resp != nil && f.Resp.Error != nil {
			return fmt.Errorf("web subscriber: subscribe: %w", f.Resp.Error)
		}
		for _, ev := range f.Events {
			if ev.Error != nil {
				return fmt.Errorf("web subscriber: subscription %d: %w", f.Sub, ev.Error)
			}
			if ev.Msg != nil {
				onMsg(*ev.Msg)
			}
		}
	}
}

func (w *webSubscriber) close() { w.ws.Close(websocket.StatusNormalClosure, "") }
