package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/transport"
)

// TestTenThousandRooms: 10,000 rooms list in full through the SDK and
// `parley rooms`. Before paging, one reply carried every room and past
// 4,096 the SDK's decoder refused it and dropped the connection.
func TestTenThousandRooms(t *testing.T) {
	const rooms = 10000
	c := startClusterArgs(t, 1, "--quota-rooms-per-hour", "20000")
	n := c.Nodes[0]

	const workers = 32
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	started := time.Now()
	for w := range workers {
		cl := c.Dial(t, fmt.Sprintf("maker%d", w), n.Client)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= rooms {
					return
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*opTimeout)
				err := cl.Join(ctx, fmt.Sprintf("room-%05d", i))
				cancel()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatalf("making rooms: %v", err)
	}
	t.Logf("made %d rooms in %v", rooms, time.Since(started).Round(time.Millisecond))

	cl := c.Dial(t, "reader", n.Client)
	ctx, cancel := context.WithTimeout(context.Background(), 2*opTimeout)
	defer cancel()
	list, err := cl.Rooms(ctx)
	if err != nil {
		t.Fatalf("SDK rooms: %v", err)
	}
	if len(list) != rooms {
		t.Fatalf("SDK listed %d rooms, want %d", len(list), rooms)
	}
	for i, r := range list {
		if want := fmt.Sprintf("room-%05d", i); r.Name != want || r.Members != 1 {
			t.Fatalf("room %d: %+v, want %s with 1 member", i, r, want)
		}
	}
	// The connection is still good after the long list.
	if _, err := cl.Send(ctx, "room-00000", "still here"); err != nil {
		t.Fatalf("send after listing: %v", err)
	}

	res := c.cli(t, "reader").run(t, "", "rooms")
	if res.code != 0 {
		t.Fatalf("parley rooms: exit %d: %s", res.code, res.stderr)
	}
	lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
	if len(lines) != rooms+1 || !strings.HasPrefix(lines[1], "room-00000") || !strings.HasPrefix(lines[rooms], "room-09999") {
		t.Fatalf("parley rooms printed %d lines (want a header and %d rooms); first %q, last %q",
			len(lines), rooms, lines[min(1, len(lines)-1)], lines[len(lines)-1])
	}

	// One raw page is bounded, and its cursor leads on.
	r := dialRaw(t, c, n.Client)
	r.hello(t, "raw")
	resp := r.call(t, 1, transport.OpRooms, transport.RoomsRequest{After: "room-00999", Limit: 5})
	var page transport.RoomsResponse
	if resp.Error != nil {
		t.Fatal(resp.Error)
	}
	if err := parley.Unmarshal(resp.Body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Rooms) != 5 || page.Rooms[0].Name != "room-01000" || page.Next != "room-01004" {
		t.Fatalf("page after room-00999: %d rooms from %q, next %q", len(page.Rooms), page.Rooms[0].Name, page.Next)
	}
	resp = r.call(t, 2, transport.OpRooms, transport.RoomsRequest{})
	if err := parley.Unmarshal(resp.Body, &page); err != nil || len(page.Rooms) != transport.MaxPage {
		t.Fatalf("a request without a limit: %d rooms, %v; want %d", len(page.Rooms), err, transport.MaxPage)
	}
}

// TestRoomQuotaErrors: past the per-account hourly room quota a join is
// refused as rate_limited, naming the quota, and the CLI says so.
func TestRoomQuotaErrors(t *testing.T) {
	c := startClusterArgs(t, 1, "--quota-rooms-per-hour", "2", "--quota-members", "2")
	n := c.Nodes[0]
	cl := c.Dial(t, "quota", n.Client)
	ctx, cancel := opContext()
	defer cancel()
	for _, r := range []string{"q1", "q2"} {
		if err := cl.Join(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	err := cl.Join(ctx, "q3")
	if transport.CodeOf(err) != transport.CodeRateLimited || !errors.Is(err, parley.ErrRateLimited) || !strings.Contains(err.Error(), "rooms created per account per hour") {
		t.Fatalf("third room: %v, want rate_limited naming the quota", err)
	}
	res := c.cli(t, "quota").run(t, "", "send", "--room", "q4", "hi")
	if res.code == 0 || !strings.Contains(res.stderr, "rooms created per account per hour") {
		t.Fatalf("parley send to a 4th room: exit %d, stderr %q", res.code, res.stderr)
	}
	if err := c.Dial(t, "other", n.Client).Join(ctx, "q1"); err != nil {
		t.Fatal(err)
	}
	err = c.Dial(t, "third", n.Client).Join(ctx, "q1")
	if transport.CodeOf(err) != transport.CodeTooLarge || !strings.Contains(err.Error(), "members per room") {
		t.Fatalf("a third member: %v, want too_large naming the quota", err)
	}
}
