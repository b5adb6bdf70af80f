package daemon

import (
	"context"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// carrier is what a session runs on: the QUIC protocol (a control stream
// and one server-opened stream per subscription, CBOR frames) or a
// browser's WebSocket (one socket, JSON frames, subscription events tagged
// with their subscription id). The session — hello, authentication, rate
// limit, handlers, subscriptions — is the same code on both.
type carrier interface {
	// context ends when the connection ends.
	context() context.Context
	// remote names the other end, for logs.
	remote() string
	// peerNode reports whether the other end proved, with a client
	// certificate the cluster CA signed, that it is a node of the cluster.
	peerNode() bool
	// readHello reads the first frame, within helloTimeout.
	readHello(h *transport.Hello) error
	// readRequest reads the next request; its Body is in the carrier's
	// encoding, for decode.
	readRequest(req *transport.Request) error
	// decode decodes a request body into v.
	decode(body []byte, v any) error
	// writeWelcome answers the hello.
	writeWelcome(w transport.Welcome) error
	// writeResponse answers the request with id: body, or e if not nil.
	writeResponse(id uint64, body any, e *transport.Error) error
	// openSub starts the event stream of subscription id.
	openSub(ctx context.Context, id uint64) (eventSink, error)
	// close ends the connection. With linger, the other end first gets a
	// moment to read what was last written (a refusal's reason).
	close(kind closeKind, reason string, linger bool)
}

// eventSink is one subscription's stream of events to the client.
type eventSink interface {
	// messages writes msgs as events, in order. frames are the room's
	// event frames shared by its subscribers on this node, for a sink that
	// writes the CBOR frames.
	messages(msgs []parley.Message, frames *roomFrames) error
	// fail writes the error that ends the subscription.
	fail(e *transport.Error)
	// done is closed when the client cancels the subscription.
	done() <-chan struct{}
	// close ends the stream.
	close()
}

// closeKind is why a connection is closed.
type closeKind int

const (
	closeKindNormal closeKind = iota
	closeKindProtocol
	closeKindAuth
	closeKindShutdown
)
