package client

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleychat/parley/transport"
)

func TestRetryDelay(t *testing.T) {
	bo := backoff{min: 40 * time.Millisecond, max: time.Second}
	cases := []struct {
		name  string
		err   error
		retry bool
		exact time.Duration // checked when not -1
	}{
		{"conn lost", fmt.Errorf("x: %w: boom", errConnLost), true, 0},
		{"unavailable with hint", fmt.Errorf("send: %w", &transport.Error{Code: transport.CodeUnavailable, RetryMillis: 300}), true, 300 * time.Millisecond},
		{"unavailable without hint", transport.Errorf(transport.CodeUnavailable, "no leader"), true, -1},
		{"rate limited", &transport.Error{Code: transport.CodeRateLimited, RetryMillis: 20}, true, 20 * time.Millisecond},
		{"stream ended", fmt.Errorf("%w: eof", errStreamEnded), true, -1},
		{"gap", fmt.Errorf("%w: want 3 got 5", errGap), true, -1},
		{"stream timeout", errStreamTimeout, true, -1},
		{"unauthorized", transport.Errorf(transport.CodeUnauthorized, "no"), false, 0},
		{"forbidden", transport.Errorf(transport.CodeForbidden, "no"), false, 0},
		{"not found", transport.Errorf(transport.CodeNotFound, "no"), false, 0},
		{"invalid", transport.Errorf(transport.CodeInvalid, "no"), false, 0},
		{"too large", transport.Errorf(transport.CodeTooLarge, "no"), false, 0},
		{"internal", transport.Errorf(transport.CodeInternal, "no"), false, 0},
		{"ctx", context.DeadlineExceeded, false, 0},
		{"other", errors.New("decode"), false, 0},
	}
	for _, c := range cases {
		d, ok := retryDelay(c.err, &bo)
		if ok != c.retry {
			t.Errorf("%s: retry = %v, want %v", c.name, ok, c.retry)
			continue
		}
		if c.exact >= 0 && d != c.exact {
			t.Errorf("%s: delay = %v, want %v", c.name, d, c.exact)
		}
		if c.exact < 0 && (d <= 0 || d > time.Second) {
			t.Errorf("%s: backoff delay %v out of (0, 1s]", c.name, d)
		}
	}
}

func TestWithLast(t *testing.T) {
	last := transport.Errorf(transport.CodeUnavailable, "no quorum")
	err := withLast(context.DeadlineExceeded, last)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v does not wrap the context error", err)
	}
	if want := "context deadline exceeded (last error: unavailable: no quorum)"; err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
	if withLast(context.Canceled, nil) != context.Canceled {
		t.Fatal("withLast with no last error changed the error")
	}
}
