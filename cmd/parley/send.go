package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/parleychat/parley"
	"github.com/parleychat/parley/client"
	"github.com/parleychat/parley/transport"
)

// shellQuote quotes s for a POSIX shell unless it needs no quoting.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.,:/@#") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runSend implements "parley send --room R [TEXT...]".
//
// With TEXT, the arguments joined by spaces are sent as one message. Without,
// each non-empty line of stdin is sent as one message, in order, each
// waiting for its acknowledgement, and a result line is printed as each is
// acknowledged. Each send is bounded by --timeout.
//
// When a send's outcome is unknown (it timed out, or the cluster had no
// quorum), the error says so and gives the message id; running
// "parley send --id ID --room R TEXT" again is safe: it commits the message
// at most once, and reports "duplicate" with the original seq if it was
// committed already.
func runSend(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("send", "parley send --room ROOM [flags] [TEXT...]")
	room := f.String("room", "", "the `room` to send to (required)")
	idFlag := f.String("id", "", "the message `id` to send with: retry a send whose outcome was unknown (one message only)")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if *room == "" {
		return usagef("--room is required")
	}
	var id parley.MsgID
	if *idFlag != "" {
		var err error
		if id, err = parley.ParseMsgID(*idFlag); err != nil {
			return usagef("--id: %v", err)
		}
		if f.NArg() == 0 {
			return usagef("--id needs the TEXT as arguments")
		}
	}
	var text string
	fromStdin := f.NArg() == 0
	if !fromStdin {
		text = strings.Join(f.Args(), " ")
		if strings.TrimSpace(text) == "" {
			return usagef("empty message")
		}
	}
	c, s, err := f.common.dial(ctx, e, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	p := newPrinter(e.stdout, s.json)

	send := func(text string) error {
		octx, cancel := s.operation(ctx)
		defer cancel()
		sendID := id
		if sendID.IsZero() {
			sendID = parley.NewMsgID(time.Now())
		}
		r, err := c.SendID(octx, *room, sendID, text)
		var unknown *client.OutcomeUnknownError
		if errors.As(err, &unknown) {
			return fmt.Errorf("%w\nthe message may have been sent; to retry it safely: parley send --id %s --room %s %s",
				err, unknown.ID, shellQuote(*room), shellQuote(text))
		}
		if err != nil {
			return err
		}
		return p.sent(r)
	}
	if !fromStdin {
		return send(text)
	}
	sc := bufio.NewScanner(e.stdin)
	sc.Buffer(make([]byte, 0, 64<<10), transport.DefaultMaxFrame)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := send(line); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("stdin: %w", err)
	}
	return nil
}
