package mapreduce_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/daemon"
	"github.com/parleychat/parley/daemon/daemontest"
	"github.com/parleychat/parley/transport"
)

// TestBadInputAndAccess: bad parameters get invalid, rooms the user may
// not read get forbidden, and nothing runs.
func TestBadInputAndAccess(t *testing.T) {
	c := daemontest.StartCluster(t, 1)
	carol := dialUser(t, c.Addr(0), "carol")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := carol.Send(ctx, parley.DMRoom("carol", "dave"), "our secret pizza"); err != nil {
		t.Fatal(err)
	}
	if _, err := carol.Send(ctx, "general", "public pizza"); err != nil {
		t.Fatal(err)
	}
	alice := dialUser(t, c.Addr(0), "alice")
	for _, tc := range []struct {
		job  string
		p    client.AnalyticsParams
		code transport.Code
		say  string
	}{
		{"no-such-job", client.AnalyticsParams{}, transport.CodeInvalid, "unknown job"},
		{"messages-per-user", client.AnalyticsParams{Since: time.Now(), Until: time.Now().Add(-time.Hour)}, transport.CodeInvalid, "empty time range"},
		{"top-words", client.AnalyticsParams{Limit: 1 << 20}, transport.CodeInvalid, "limit"},
		{"search", client.AnalyticsParams{Query: "(unclosed"}, transport.CodeInvalid, "query"},
		{"search", client.AnalyticsParams{}, transport.CodeInvalid, "query is required"},
		{"activity", client.AnalyticsParams{By: "planet"}, transport.CodeInvalid, "by"},
		{"messages-per-user", client.AnalyticsParams{Rooms: []string{"Bad Name"}}, transport.CodeInvalid, "room"},
		{"messages-per-user", client.AnalyticsParams{Rooms: []string{"dm.carol.dave"}}, transport.CodeForbidden, "direct messages"},
		{"search", client.AnalyticsParams{Query: "pizza", Rooms: []string{"general", "dm.carol.dave"}}, transport.CodeForbidden, "direct messages"},
		{"messages-per-room", client.AnalyticsParams{All: true}, transport.CodeForbidden, "administrator"},
	} {
		_, err := alice.Analytics(ctx, tc.job, tc.p)
		if transport.CodeOf(err) != tc.code || !strings.Contains(err.Error(), tc.say) {
			t.Errorf("%s %+v: err %v, want code %s saying %q", tc.job, tc.p, err, tc.code, tc.say)
		}
	}
	// Alice's own search over everything she may read never finds
	// carol's and dave's direct message.
	res, err := alice.Analytics(ctx, "search", client.AnalyticsParams{Query: "pizza"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].Msg.Room != "general" {
		t.Errorf("alice's search: %+v, want only the general message", res.Rows)
	}
	// Carol's finds both.
	res, err = carol.Analytics(ctx, "search", client.AnalyticsParams{Query: "pizza"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 2 {
		t.Errorf("carol's search: %d rows, want 2", len(res.Rows))
	}
	jobs, err := alice.AnalyticsJobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, j := range jobs {
		names = append(names, j.Name)
	}
	want := []string{"active-users", "activity", "messages-per-room", "messages-per-user", "response-time", "search", "top-words"}
	if !slices.Equal(names, want) {
		t.Errorf("jobs %v, want %v", names, want)
	}
}

// TestCutIgnoresLaterMessages: messages sent while a job runs do not
// change its answer, which is the history as it was when the job began.
func TestCutIgnoresLaterMessages(t *testing.T) {
	c := daemontest.StartCluster(t, 3, daemontest.Options{Configure: func(_ int, cfg *daemon.Config) {
		cfg.AnalyticsScanDelay = 5 * time.Millisecond
	}})
	chat(t, c.Addr(0), 60)
	alice := dialUser(t, c.Addr(1), "alice")
	msgs := readable(t, alice)
	want := bruteForce(t, "messages-per-user", client.AnalyticsParams{}, msgs)
	bob := dialUser(t, c.Addr(2), "bob")
	var sent atomic.Int64
	done := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	started := make(chan struct{})
	var once atomic.Bool
	go func() {
		defer close(done)
		<-started
		for ctx.Err() == nil && sent.Load() < 40 {
			if _, err := bob.Send(ctx, "general", "sent during the job"); err == nil {
				sent.Add(1)
			}
		}
	}()
	res, err := alice.Analytics(ctx, "messages-per-user", client.AnalyticsParams{Progress: func(p transport.AnalyticsProgress) {
		// Messages is set once the cut is fixed.
		if p.Messages > 0 && once.CompareAndSwap(false, true) {
			close(started)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-done
	if n := sent.Load(); n == 0 {
		t.Fatal("nothing was sent while the job ran")
	}
	if got := rowsOf(res); !slices.Equal(got, want) {
		t.Fatalf("after %d messages sent during the job:\n got %v\nwant %v", sent.Load(), got, want)
	}
	// The messages were really sent: a new job counts them.
	res, err = alice.Analytics(ctx, "messages-per-user", client.AnalyticsParams{})
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(res); slices.Equal(got, want) {
		t.Fatalf("a later job does not see the %d messages sent during the first", sent.Load())
	}
}
