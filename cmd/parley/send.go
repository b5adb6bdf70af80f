package main

import (
	"bufio"
	"context"
	"fmt"
	"strings"

	"github.com/parleychat/parley/transport"
)

// runSend implements "parley send --room R [TEXT...]".
//
// With TEXT, the arguments joined by spaces are sent as one message. Without,
// each non-empty line of stdin is sent as one message, in order, each
// waiting for its acknowledgement, and a result line is printed as each is
// acknowledged. Each send is bounded by --timeout.
func runSend(ctx context.Context, e *env, args []string) error {
	f := newFlagSet("send", "parley send --room ROOM [flags] [TEXT...]")
	room := f.String("room", "", "the `room` to send to (required)")
	if err := f.parse(e, args); err != nil {
		return err
	}
	if *room == "" {
		return usagef("--room is required")
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
		r, err := c.Send(octx, *room, text)
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
