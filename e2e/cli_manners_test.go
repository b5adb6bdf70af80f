package e2e

import (
	"encoding/json"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestCLIManners checks that the CLI behaves like other command-line
// tools: flags anywhere, "--" ending them, help that lists every
// subcommand, a quick and plain answer where no node is, and errors that
// say each thing once.
func TestCLIManners(t *testing.T) {
	c := sharedCluster(t)
	user := uniq("manners")
	env := c.cli(t, user)
	sdk := c.Dial(t, user)

	t.Run("flags_after_text", func(t *testing.T) {
		room := uniq("manners")
		r := env.mustRun(t, "", "send", "--room", room, "hello", "--json")
		var sent map[string]any
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &sent); err != nil {
			t.Fatalf("--json after the text was not taken as a flag: %q", r.stdout)
		}
		env.mustRun(t, "", "send", "--room", room, "--", "--json", "-x")
		h := history(t, sdk, room)
		if len(h) != 2 || h[0].Text != "hello" || h[1].Text != "--json -x" {
			t.Fatalf("room holds %+v, want \"hello\" and \"--json -x\"", h)
		}
	})

	t.Run("no_node_answers", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer pc.Close() // a bound UDP port that never answers
		addr := pc.LocalAddr().String()
		start := time.Now()
		r := env.run(t, "", "status", "--server", addr, "--timeout", "60s")
		took := time.Since(start)
		if r.code != 1 || strings.TrimSpace(r.stderr) != "parley: no Parley node answered at "+addr {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		// Not a speed test: the bound is the point of the feature, a
		// fraction of --timeout.
		if took > 30*time.Second {
			t.Fatalf("took %v with --timeout 60s", took)
		}
	})

	t.Run("wrong_password_said_once", func(t *testing.T) {
		bad := env
		bad.password = "not-" + password
		r := bad.run(t, "", "status")
		if r.code != 1 || strings.Count(r.stderr, "unauthorized") != 1 || !strings.Contains(r.stderr, "wrong password") {
			t.Fatalf("exit %d, stderr %q: want one \"unauthorized\" and the reason", r.code, r.stderr)
		}
	})

	t.Run("help_lists_every_subcommand", func(t *testing.T) {
		out, err := exec.Command(parleydBin, "-h").CombinedOutput()
		if err != nil {
			t.Fatalf("parleyd -h: %v", err)
		}
		for _, sub := range []string{"parleyd dev", "parleyd version", "-config", "-data"} {
			if !strings.Contains(string(out), sub) {
				t.Errorf("parleyd -h does not mention %q:\n%s", sub, out)
			}
		}
		r := env.mustRun(t, "", "-h")
		for _, sub := range []string{"send", "tail", "history", "status", "rooms", "who", "repl", "version", "completion"} {
			if !strings.Contains(r.stdout, "\t"+sub+" ") {
				t.Errorf("parley -h does not list %q:\n%s", sub, r.stdout)
			}
		}
	})
}
