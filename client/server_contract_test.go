package client

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// Server behaviour the SDK relies on, found missing while moving these
// tests onto real clusters and since fixed in the daemon.

// TestServerCloseTellsClients: a server that stops cleanly closes its
// clients' connections with an error they receive, so they move on at
// once. daemon.Server.Close closes the UDP socket before it closes the
// connections, so the CONNECTION_CLOSE frames are never sent and every
// client waits for its QUIC idle timeout instead.
func TestServerCloseTellsClients(t *testing.T) {
	cl := startCluster(t, 1)
	rec := recordLogs(t)
	opts := options(t, cl.Addr(0))
	opts.Logger = rec.logger()
	dial(t, opts)
	cl.Stop(0)
	waitFor(t, 20*time.Second, func() error {
		if len(rec.find("connection lost; reconnecting")) == 0 {
			return errors.New("the client has not noticed the stop")
		}
		return nil
	})
	lost := rec.find("connection lost; reconnecting")
	if errorsAs[*quic.IdleTimeoutError](lost) || !errorsAs[*quic.ApplicationError](lost) {
		t.Fatalf("connection lost with %v, want the server's close (an application error), not an idle timeout", errOf(lost[0]))
	}
}

// TestHistoryOfLargeMessages: a history reply never exceeds the frame
// limit. The server caps a reply at 1000 messages but not in bytes: 70
// messages of 16 KiB make a 1.1 MiB reply, over the 1 MiB frame limit;
// the server fails to write it (logged at debug only) and never answers,
// so History waits until its context ends.
func TestHistoryOfLargeMessages(t *testing.T) {
	const n = 70
	cl := startCluster(t, 1)
	c := dial(t, options(t, cl.Addr(0)))
	rs := make([]SendResult, 0, n)
	big := strings.Repeat("y", 16<<10)
	for range n {
		r, err := c.Send(testCtx(t), "big", big)
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs, err := c.History(ctx, "big", HistoryOptions{Last: n})
	if err != nil {
		t.Fatalf("History of %d messages of 16 KiB: %v", n, err)
	}
	checkLog(t, msgs, rs)
}
