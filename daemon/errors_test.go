package daemon

import (
	"context"
	"fmt"
	"testing"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/chatcore"
	"github.com/parleychat/parley/transport"
)

// A wire error says each thing once: the code is printed before the
// message, so the message does not end with the code's own word.
func TestWireErrorSaysEachThingOnce(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code transport.Code
		msg  string
	}{
		{fmt.Errorf("login: wrong password for %q: %w", "bob", parley.ErrUnauthorized), transport.CodeUnauthorized, `login: wrong password for "bob"`},
		{fmt.Errorf("send: %w", parley.ErrTooLarge), transport.CodeTooLarge, "send"},
		{fmt.Errorf("room: %w", parley.ErrNotFound), transport.CodeNotFound, "room"},
		{parley.ErrInvalid, transport.CodeInvalid, "invalid"},
		{fmt.Errorf("admit: name taken: %w", chatcore.ErrExists), transport.CodeInvalid, "admit: name taken: already exists"},
		{fmt.Errorf("shard 4: %w: %w", parley.ErrUnavailable, context.DeadlineExceeded), transport.CodeUnavailable, "shard 4: unavailable: context deadline exceeded"},
		{fmt.Errorf("boom"), transport.CodeInternal, "boom"},
	} {
		e := wireError(tc.err)
		if e.Code != tc.code || e.Message != tc.msg {
			t.Errorf("%v: got %s %q, want %s %q", tc.err, e.Code, e.Message, tc.code, tc.msg)
		}
	}
}
