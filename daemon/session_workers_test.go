package daemon

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// requestWorkers counts the goroutines running a session's request worker.
func requestWorkers() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return bytes.Count(buf[:n], []byte("daemon.(*session).worker("))
		}
		buf = make([]byte, 2*len(buf))
	}
}

// TestWorkersAnswerEveryPipelinedRequest writes more requests than a
// session may have in flight before reading any answer: every one is
// answered once, the workers stay for the next requests, and they end with
// the session.
func TestWorkersAnswerEveryPipelinedRequest(t *testing.T) {
	srv := startServer(t)
	rc, _ := dialRaw(t, srv, alice)
	const n = maxInFlight + 44
	go func() {
		for i := 1; i <= n; i++ {
			body, err := parley.Marshal(transport.SendRequest{Room: "pipe", ID: parley.NewMsgID(time.Now()), Text: fmt.Sprint("m", i)})
			if err != nil {
				t.Error(err)
				return
			}
			if err := transport.WriteFrame(rc.stream, transport.Request{ID: uint64(i), Op: transport.OpSend, Body: body}, transport.DefaultMaxFrame); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	seen := make(map[uint64]bool)
	for range n {
		resp := rc.read()
		if resp.Error != nil {
			t.Fatalf("request %d: %v", resp.ID, resp.Error)
		}
		if resp.ID < 1 || resp.ID > n || seen[resp.ID] {
			t.Fatalf("answer for request %d: unknown or repeated", resp.ID)
		}
		seen[resp.ID] = true
	}
	if got := lastSeq(t, rc, "pipe"); got != n {
		t.Fatalf("room has %d messages, want %d", got, n)
	}
	if w := requestWorkers(); w == 0 {
		t.Fatal("no request worker left after the requests: each request started a goroutine of its own")
	}
	rc.conn.CloseWithError(0, "")
	deadline := time.Now().Add(20 * time.Second)
	for requestWorkers() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d request workers still running after the session ended", requestWorkers())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
