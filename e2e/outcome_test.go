package e2e

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/client"
)

// TestSendOutcomeUnknown: with 2 of 3 nodes killed no send can commit.
// The SDK says the outcome is unknown and gives the message id; the CLI
// prints how to retry; once the nodes are back, retrying with that id
// commits the message exactly once, and retrying again reports a
// duplicate with the same seq.
func TestSendOutcomeUnknown(t *testing.T) {
	c := startCluster(t)
	n1 := c.Nodes[0]
	const room = "outcome"
	sdk := c.Dial(t, "olga", n1.Client)
	ctx, cancel := opContext()
	if _, err := sdk.Send(ctx, room, "before"); err != nil {
		t.Fatal(err)
	}
	cancel()
	cli := c.cli(t, "olga")
	cli.servers = []string{n1.Client}
	cli.mustRun(t, "", "status") // pins the CA while the cluster is whole

	for _, n := range c.Nodes[1:] {
		c.Kill(t, n)
	}

	// The SDK: a typed error that carries the id.
	ctx, cancel = context.WithTimeout(context.Background(), 3*time.Second)
	_, err := sdk.Send(ctx, room, "from the sdk")
	cancel()
	var unknown *client.OutcomeUnknownError
	if !errors.Is(err, client.ErrOutcomeUnknown) || !errors.As(err, &unknown) || unknown.ID.IsZero() {
		t.Fatalf("send without a quorum: %v, want an OutcomeUnknownError", err)
	}
	if !strings.Contains(err.Error(), "outcome unknown: retry with the same id "+unknown.ID.String()) {
		t.Fatalf("error %q does not say to retry with the id", err)
	}
	sdkID := unknown.ID

	// The CLI: it says so and prints the retry command.
	res := cli.run(t, "", "send", "--timeout", "3s", "--room", room, "from the cli")
	if res.code == 0 {
		t.Fatalf("parley send without a quorum succeeded: %s", res.stdout)
	}
	m := regexp.MustCompile(`parley send --id (\S+) --room outcome 'from the cli'`).FindStringSubmatch(res.stderr)
	if !strings.Contains(res.stderr, "outcome unknown: retry with the same id") || m == nil {
		t.Fatalf("parley send without a quorum: stderr %q, want the outcome unknown and a retry command", res.stderr)
	}
	cliID := m[1]

	for _, n := range c.Nodes[1:] {
		c.Restart(t, n)
	}
	c.WaitFormed(t)

	// Retry both with their ids: each commits once, and again is a
	// duplicate at the same seq.
	ctx, cancel = context.WithTimeout(context.Background(), 2*opTimeout)
	defer cancel()
	first, err := sdk.SendID(ctx, room, sdkID, "from the sdk")
	if err != nil {
		t.Fatalf("retry with the same id: %v", err)
	}
	again, err := sdk.SendID(ctx, room, sdkID, "from the sdk")
	if err != nil || !again.Duplicate || again.Seq != first.Seq {
		t.Fatalf("second retry: %+v, %v; want a duplicate at seq %d", again, err, first.Seq)
	}
	out := cli.mustRun(t, "", "send", "--id", cliID, "--room", room, "from the cli").stdout
	seqRe := regexp.MustCompile(`sent outcome#(\d+) ` + cliID)
	s1 := seqRe.FindStringSubmatch(out)
	if s1 == nil {
		t.Fatalf("retry of the CLI's send printed %q", out)
	}
	out = cli.mustRun(t, "", "send", "--id", cliID, "--room", room, "from the cli").stdout
	if s2 := seqRe.FindStringSubmatch(out); s2 == nil || s2[1] != s1[1] || !strings.Contains(out, "duplicate") {
		t.Fatalf("second retry of the CLI's send printed %q, want a duplicate at seq %s", out, s1[1])
	}

	msgs, err := sdk.History(ctx, room, client.HistoryOptions{From: 1, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range msgs {
		count[m.Text]++
	}
	if count["from the sdk"] != 1 || count["from the cli"] != 1 {
		t.Fatalf("history holds the retried messages %v times, want once each: %+v", count, msgs)
	}
}
