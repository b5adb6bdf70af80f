package client

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

// Where nothing answers the QUIC handshake, Dial fails with ErrNoAnswer
// naming every address, after ConnectTimeout per address rather than at
// the end of its context.
func TestDialWhereNoNodeAnswers(t *testing.T) {
	var addrs []string
	for range 2 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { pc.Close() })
		addrs = append(addrs, pc.LocalAddr().String())
	}
	opts := options(t, addrs...)
	opts.ConnectTimeout = 200 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := Dial(ctx, opts)
	if !errors.Is(err, ErrNoAnswer) {
		t.Fatalf("got %v, want ErrNoAnswer", err)
	}
	if ctx.Err() != nil {
		t.Fatalf("Dial waited out its context: %v", err)
	}
	for _, a := range addrs {
		if !strings.Contains(err.Error(), a) {
			t.Errorf("%q does not name %s", err, a)
		}
	}
}
