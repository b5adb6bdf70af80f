package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/parleychat/parley/internal/freeport"
)

// parleyd --log-format json writes one JSON object per line.
func TestLogFormatJSON(t *testing.T) {
	raft, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(parleydBin, "--data", t.TempDir(), "--listen", "127.0.0.1:0", "--raft", raft,
		"--http", "127.0.0.1:0", "--advertise", "127.0.0.1", "--profile", "small", "--log-format", "json")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("parleyd exited before it served")
			}
			if !strings.HasPrefix(line, "{") {
				continue // dragonboat's own start-up lines do not go through slog
			}
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("not a JSON line: %q: %v", line, err)
			}
			if rec["msg"] == "parleyd serving" {
				if rec["level"] != "INFO" || rec["clients"] == nil {
					t.Fatalf("serving record: %v", rec)
				}
				return
			}
		case <-deadline:
			t.Fatal("no JSON 'parleyd serving' line in 2 minutes")
		}
	}
}

// A bad log format or level is a usage error that names the flag.
func TestBadLogFlags(t *testing.T) {
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}} {
		cmd := exec.Command(parleydBin, append([]string{"--data", t.TempDir()}, args...)...)
		out, err := cmd.CombinedOutput()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || !strings.Contains(string(out), args[0]+": ") || !strings.Contains(string(out), fmt.Sprintf("%q", args[1])) {
			t.Errorf("parleyd %v: %v\n%s", args, err, out)
		}
	}
}
